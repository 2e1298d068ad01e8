"""Scenario 9: hypothesis-generated signal payloads (10k+ cases each) through the domain
parser and through the stream ingestor's batch handler on the real database: every payload is
accepted whole or rejected with a clear error naming a field — never a crash, never a
partial row. And bytes that are not UTF-8 do not kill the running ingestor."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import redis
from celery import Celery
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from domain.errors import InvalidSignal
from domain.signals import Signal, parse_signal
from domain.vocabulary import DEFAULT_VOCABULARY
from persistence import models as m
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.chaos.fleet import settle
from tests.chaos.helpers import count, make_agents, mint, payload, set_prices
from tests.e2e.test_pipeline import MINT
from tests.fakes import db_deps
from workers.ingest.dead_letters import DEAD_SIGNALS_STREAM
from workers.ingest.stream import SIGNALS_STREAM, StreamIngestor

FIELDS = ("token_address", "signal_type", "signal_strength", "symbol", "activation_reason",
          "source", "idempotency_key", "user_id")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3), max_leaves=4)
texts = st.text(max_size=60) | st.text(max_size=200).map(lambda s: s * 11)
FIELD_VALUES = {
    "token_address": st.sampled_from([MINT, mint(1), MINT[:-1], MINT + "1"]) | texts,
    "signal_type": st.sampled_from(["buy", "sell", "SELL", " sell", " sell ", "Velocity (Dex)"])
    | texts,
    "signal_strength": st.integers(-3, 103) | st.sampled_from(["50", 50.5, True, 1e400]),
    "symbol": st.none() | st.sampled_from(["", "  ", " BONK "]) | texts,
    "activation_reason": st.none() | texts,
    "source": st.none() | texts,
    "idempotency_key": st.none() | st.sampled_from(["", " "]) | texts,
    "user_id": st.none() | st.uuids().map(str) | texts,
}
payloads = st.fixed_dictionaries(
    {}, optional={k: v | json_values for k, v in FIELD_VALUES.items()}).flatmap(
    lambda d: st.dictionaries(st.text(max_size=8), json_values, max_size=1).map(
        lambda extra: {**extra, **d}))


def check_rejection(exc: InvalidSignal, body: dict[str, Any]) -> None:
    assert exc.reason and exc.field in (*FIELDS, "payload", *body), exc


def examples(short: int, long: int) -> Any:
    """How many examples a property runs: ``short`` in ``make test``, ``long`` in
    ``make chaos`` (hypothesis' own generation is most of the time: 10k cost a minute)."""
    return pytest.mark.parametrize("examples", [
        short, pytest.param(long, marks=pytest.mark.chaos_long, id=f"{long}")])


@examples(1_000, 10_000)
def test_the_parser_accepts_whole_or_names_the_field(examples: int) -> None:
    @settings(max_examples=examples, deadline=None, database=None)
    @given(body=payloads)
    def run(body: dict[str, Any]) -> None:
        try:
            signal = parse_signal(body)
        except InvalidSignal as exc:
            check_rejection(exc, body)
            return
        assert set(body) <= set(FIELDS)
        for field in FIELDS:  # accepted as sent, not coerced; strings trimmed, blank ones null
            sent = body.get(field)
            got = getattr(signal, field)
            want = (sent.strip() or None) if isinstance(sent, str) else sent
            if field == "user_id" and want is not None:
                want = str(uuid.UUID(want))
            assert (str(got) if isinstance(got, uuid.UUID) else got) == want

    run()


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


raw_messages = st.one_of(
    payloads.map(lambda b: {"payload": json.dumps(b)}),
    st.text(max_size=40).map(lambda t: {"payload": t}),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2),
)
_ids = itertools.count(1)


def columns(row: Any) -> Signal:
    return Signal(row.token_address, row.signal_type, row.signal_strength, row.symbol,
                  row.activation_reason, row.source, row.idempotency_key, row.user_id)


@pytest.fixture
def handler(clean_db: Engine, e2e_redis: redis.Redis) -> StreamIngestor:
    uow = SqlAlchemyUnitOfWork(make_session_factory(clean_db))
    return StreamIngestor(e2e_redis, db_deps(lambda: uow), "hypothesis")


def expectation(message_id: str, fields: dict[str, str]) -> Signal | str:
    """What the handler must do with one message: store this signal, or reject this field."""
    if "payload" not in fields:
        return "payload"
    try:
        body = json.loads(fields["payload"], parse_float=Decimal)
    except ValueError:
        return "payload"
    if not isinstance(body, dict):
        return "payload"
    key = body.get("idempotency_key")
    if key is None or (isinstance(key, str) and not key.strip()):  # blank is absent
        body["idempotency_key"] = f"stream:{message_id}"
    try:
        signal = parse_signal(body)
        DEFAULT_VOCABULARY.check(signal.signal_type)  # the ingestor's own check
        return signal
    except InvalidSignal as exc:
        return exc.field


@examples(300, 1_800)
def test_the_stream_handler_stores_whole_signals_or_dead_letters(
        handler: StreamIngestor, clean_db: Engine, e2e_redis: redis.Redis,
        examples: int) -> None:
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(batch=st.lists(raw_messages, min_size=1, max_size=12))
    def run(batch: list[dict[str, str]]) -> None:
        handle_one(handler, clean_db, e2e_redis, batch)

    run()


def handle_one(handler: StreamIngestor, clean_db: Engine, e2e_redis: redis.Redis,
               batch: list[dict[str, str]]) -> None:
    messages = [(f"{next(_ids)}-0", fields) for fields in batch]
    expected = {message_id: expectation(message_id, fields) for message_id, fields in messages}
    keys = [e.idempotency_key for e in expected.values() if isinstance(e, Signal)]
    with clean_db.connect() as conn:
        before = set(conn.execute(select(m.TradingSignal.idempotency_key).where(
            m.TradingSignal.idempotency_key.in_(keys))).scalars())
    handler.handle(messages)  # never raises
    with clean_db.connect() as conn:
        rows = {r.idempotency_key: columns(r) for r in conn.execute(select(
            m.TradingSignal).where(m.TradingSignal.idempotency_key.in_(
                [*keys, *(f"stream:{i}" for i in expected)])))}
    dead = {d["message_id"]: d for _, d in e2e_redis.xrevrange(
        DEAD_SIGNALS_STREAM, count=len(messages))}
    first: dict[str | None, Signal] = {}
    for message_id, want in expected.items():
        if isinstance(want, Signal):
            first.setdefault(want.idempotency_key, want)
            assert message_id not in dead
            if want.idempotency_key not in before:  # else an earlier example's signal stays
                assert rows[want.idempotency_key] == first[want.idempotency_key]
        else:
            assert dead[message_id]["field"] == want and dead[message_id]["reason"]
            assert f"stream:{message_id}" not in rows  # nothing partial


def test_bytes_that_are_not_utf8_do_not_stop_the_ingestor(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery) -> None:
    agents = make_agents(chaos, 2)
    set_prices(e2e_redis, [mint(0)])
    e2e_redis.xadd(SIGNALS_STREAM, {"payload": b'{"token_address": "\xff\xfe"}'})
    e2e_redis.xadd(SIGNALS_STREAM, {"payload": json.dumps(payload(mint(0), 1))})
    settle(chaos, sender, e2e_redis, timeout=30, signals=1)
    assert count(chaos, m.SignalExecution) == len(agents)
