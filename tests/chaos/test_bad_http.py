"""Scenario 9, HTTP: signal payloads (the strategy of tests/chaos/test_bad_input.py, mostly
valid signals with one field replaced, bare JSON literals, raw text and bytes, deep nesting)
through the real HTTP ingestor (FastAPI ``POST /v1/signals``) on the real database and Redis:
each 2xx with one whole stored row, or 4xx naming the field — never a 5xx, never a partial
row. 500 cases in ``make test``, 10k in ``make chaos``; the smallest failing cases found
(fixed in caebfc2) are pinned at the end, with the stream ingestor's twin."""

from __future__ import annotations

import dataclasses
import itertools
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, cast

import pytest
import redis
from fastapi.testclient import TestClient
from hypothesis import event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from domain.errors import InvalidInput
from domain.ports import UnitOfWork
from domain.signals import Signal, parse_signal
from domain.vocabulary import DEFAULT_VOCABULARY
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.chaos.config_cases import BEYOND_DECIMAL, SLOW_OK
from tests.chaos.config_oracles import noted
from tests.chaos.helpers import mint
from tests.chaos.test_bad_input import FIELDS, Clock, columns, payloads
from tests.e2e.test_pipeline import MINT
from tests.fakes import RecordingQueue, db_deps
from workers.bootstrap import Container, ServiceUrls
from workers.handlers.operators.keys import create_key
from workers.http import create_app
from workers.settings import Settings

# --- the HTTP ingestor --------------------------------------------------------------------

@dataclass
class Http:
    client: TestClient
    engine: Engine
    key: str
    user_id: uuid.UUID  # the key's user: every stored signal is theirs
    max_body: int
    enqueued: list[tuple[int, bool]]  # (signal id, its row committed when enqueued)


@pytest.fixture
def http(clean_db: Engine, e2e_redis: redis.Redis, database_url: str,
         redis_url: str) -> Iterator[Http]:
    factory = make_session_factory(clean_db)
    key = create_key(cast("UnitOfWork", SqlAlchemyUnitOfWork(factory)), Clock(),
                     user_email="provider@example.com", scopes=["signals"]).key
    with SqlAlchemyUnitOfWork(factory) as uow:
        user_id = uow.users.find("provider@example.com")
    assert user_id is not None
    settings_ = Settings(_env_file=None, http_rate_limit_per_minute=10**9)  # type: ignore[call-arg]
    rt = Container(settings_, ServiceUrls(database_url, redis_url, redis_url, False))
    enqueued: list[tuple[int, bool]] = []

    class Recorder(RecordingQueue):  # instead of the broker: no worker takes these
        def fan_out(self, signal_ids: Sequence[int]) -> None:
            with clean_db.connect() as conn:
                for signal_id in signal_ids:
                    row = conn.execute(text("SELECT 1 FROM trading_signals WHERE id = :id"),
                                       {"id": signal_id}).first()
                    enqueued.append((signal_id, row is not None))

    deps = replace(rt.deps, queue=Recorder())
    client = TestClient(create_app(rt, deps=deps), raise_server_exceptions=False)
    yield Http(client, clean_db, key, user_id, rt.settings.http_max_body_bytes, enqueued)
    client.close()
    rt.dispose()


LITERALS = ["1e9999999999999999999999", "-1e-9999999999999999999999", "1E+999999999999999999",
            "0e-999999999999999999", "50.0", "5e1", "-0", "NaN", "Infinity", "-Infinity", "50",
            "1" * 5000, "1" * 4000, "[]", "{}", "null", '"50"', "true"]
# Mostly valid signals, one field maybe replaced by one of the `payloads` (a bad value, an
# unknown key, a null), so that acceptance is exercised as much as refusal.
signals = st.fixed_dictionaries(
    {"token_address": st.sampled_from([MINT, mint(1), mint(2)]),
     "signal_type": st.sampled_from(["buy", "sell", "SELL", "Velocity (Dex)"]),
     "signal_strength": st.integers(1, 100)},
    optional={"symbol": st.text(min_size=1, max_size=12),
              "idempotency_key": st.uuids().map(str) | st.text(min_size=1, max_size=6),
              "source": st.sampled_from(["prov", "x" * 100]),
              "activation_reason": st.text(max_size=30),
              "user_id": st.uuids().map(str)})
near_signals = st.builds(lambda good, bad: {**good, **dict(list(bad.items())[:1])},
                         signals, payloads)


def _with_literal(body: dict[str, Any], name: str, literal: str) -> str:
    """``body`` as JSON with ``name`` set to a bare JSON literal (which json.dumps of Python
    values never writes, e.g. an exponent beyond any float)."""
    rest = {k: v for k, v in body.items() if k != name}
    inner = json.dumps(rest)[1:-1]
    return "{" + (inner + ", " if inner else "") + f"{json.dumps(name)}: {literal}" + "}"


depths = st.integers(1, 400) | st.integers(5_000, 6_000)
bodies = st.one_of(
    payloads.map(json.dumps), near_signals.map(json.dumps), near_signals.map(json.dumps),
    st.builds(_with_literal, near_signals, st.sampled_from(FIELDS), st.sampled_from(LITERALS)),
    st.text(max_size=40), st.binary(max_size=40),
    # nested far below or far above the recursion limit (where json.loads gives up depends
    # on how deep the caller's stack already is: the server's and the test's differ)
    depths.map(lambda n: "[" * n + "]" * n),
    depths.map(lambda n: '{"a": ' * n + "1" + "}" * n),
)


def _decoded(content: str | bytes) -> Any:
    """The body as a correct server reads it; raises ValueError when it is not JSON."""
    try:
        return json.loads(content, parse_float=Decimal)
    except (ValueError, RecursionError, ArithmeticError) as exc:
        raise ValueError("not JSON") from exc


def _rows(engine: Engine, key: str | None) -> tuple[int, int | None]:
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM trading_signals")).scalar_one()
        existing = None if key is None else conn.execute(
            text("SELECT id FROM trading_signals WHERE idempotency_key = :k"),
            {"k": key}).scalar_one_or_none()
    return int(total), existing


def _safe(name: str) -> str:
    return name.encode("utf-8", "backslashreplace").decode("utf-8")[:300]


def post_one(http: Http, content: str | bytes) -> str:
    """POST one body; check the answer against the domain parser and the table."""
    body: Any = None
    want: Signal | None = None
    try:
        body = _decoded(content)
        want = parse_signal(body)
        DEFAULT_VOCABULARY.check(want.signal_type)  # the ingestor's own check
    except (ValueError, InvalidInput):
        want = None
        pass
    key = want.idempotency_key if want is not None else None
    count, existing = _rows(http.engine, key)
    http.enqueued.clear()
    response = http.client.post("/v1/signals", content=content,
                                headers={"X-API-Key": http.key,
                                         "Content-Type": "application/json"})
    code = response.status_code
    assert code < 500, (code, response.text)
    after, stored_id = _rows(http.engine, key)
    answer = response.json()
    if want is None:  # refused: 400 naming the field (413 if too big), nothing stored
        assert code == 400 or (code == 413 and len(content) > http.max_body), (code, answer)
        names = {_safe(str(k)) for k in body} if isinstance(body, dict) else set()
        assert answer["field"] in {*FIELDS, "payload", *names} and answer["reason"], answer
        assert after == count and http.enqueued == []
        return "rejected"
    if want.user_id not in (None, http.user_id):  # another user's agents: refused
        assert code == 403 and "user_id" in answer["detail"], (code, answer)
        assert after == count and http.enqueued == []
        return "rejected"
    want = dataclasses.replace(want, user_id=http.user_id)
    if existing is not None:  # a repeated idempotency key: the existing row, nothing new
        assert code == 409 and answer["id"] == existing, (code, answer)
        assert after == count and http.enqueued == []
        return "duplicate"
    assert code == 201, (code, answer)
    assert after == count + 1 and stored_id in (None, answer["id"])
    with http.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM trading_signals WHERE id = :id"),
                           {"id": answer["id"]}).one()
    assert columns(row) == want  # the whole row, as sent
    assert http.enqueued == [(answer["id"], True)]  # fan-out enqueued after the commit
    return "stored"


def _run_http(http: Http, examples: int) -> None:
    seen = {"stored": 0, "rejected": 0, "duplicate": 0}

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=SLOW_OK)
    @given(content=bodies)
    def run(content: str | bytes) -> None:
        with noted(content):
            outcome = post_one(http, content)
        event(outcome)
        seen[outcome] += 1

    run()
    assert seen["stored"] >= examples // 20 and seen["rejected"] >= examples // 5, seen


def test_the_http_ingestor_stores_whole_rows_or_names_the_field(http: Http) -> None:
    _run_http(http, 250)


@pytest.mark.chaos_long
@pytest.mark.timeout(3600)
def test_the_http_ingestor_10k_payloads(http: Http) -> None:
    _run_http(http, 10_000)



# --- the smallest failing cases, pinned ----------------------------------------------------

@pytest.mark.parametrize("content", [
    '{"token_address": ' + BEYOND_DECIMAL + "}",
    json.dumps({"token_address": MINT, "signal_type": "buy"})[:-1]
    + ', "signal_strength": ' + BEYOND_DECIMAL + "}",
    json.dumps({"token_address": MINT, "signal_type": "buy"})[:-1]
    + ', "signal_strength": 1E+999999999999999999}',  # at decimal's largest exponent
])
def test_minimal_http_bodies(http: Http, content: str) -> None:
    """500: read_json's json.loads(parse_float=Decimal) raised decimal.InvalidOperation,
    which it did not catch (only ValueError and RecursionError); and a strength at decimal's
    largest exponent parsed, then overflowed in abs() while read as an integer."""
    assert post_one(http, content) == "rejected"


def test_minimal_stream_message_with_a_number_past_decimal(
        clean_db: Engine, e2e_redis: redis.Redis) -> None:
    """The stream ingestor's _parse has the same json.loads: handle() raises
    decimal.InvalidOperation, run() does not catch it, and the message — never acked —
    is read again first at every restart."""
    from workers.ingest.dead_letters import DEAD_SIGNALS_STREAM
    from workers.ingest.stream import StreamIngestor

    uow = cast("UnitOfWork", SqlAlchemyUnitOfWork(make_session_factory(clean_db)))
    ingestor = StreamIngestor(e2e_redis, db_deps(lambda: uow), "minimal")
    message_id = f"{next(_stream_ids)}-0"
    ingestor.handle([(message_id, {"payload": '{"signal_strength": ' + BEYOND_DECIMAL + "}"})])
    entries = cast("list[tuple[str, dict[str, str]]]",
                   e2e_redis.xrevrange(DEAD_SIGNALS_STREAM, count=10))
    dead = {d["message_id"]: d for _, d in entries}
    assert dead[message_id]["field"] in (*FIELDS, "payload")


_stream_ids = itertools.count(10**12)
