"""Idempotency per channel and caller, on the real database: HTTP keys live in
``http:<user id>``, the stream's in ``stream``, the tasks' in ``task``. An HTTP caller cannot
pre-empt a stream message or a task by claiming its key, and a 409 only ever answers the
caller's own signal."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import redis
from sqlalchemy import Engine, text

from domain.signals import parse_signal
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.fakes import RecordingQueue, Store, make_deps
from tests.integration.http_support import VALID, FixedClock, count_signals, post
from workers.handlers.operators.keys import create_key
from workers.handlers.shared.deps import Deps
from workers.handlers.signals.ingest import ingest
from workers.ingest.stream import StreamIngestor

Uows = Callable[[], SqlAlchemyUnitOfWork]


def _rows(engine: Engine) -> list[tuple[int, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, idempotency_key, idempotency_namespace "
                                 "FROM trading_signals ORDER BY id"))
        return [(row[0], row[1], row[2]) for row in rows]


def _deps(uows: Uows) -> Deps:
    """The handlers' ports on the test database, the queue recorded."""
    return replace(make_deps(Store({}, []), now=FixedClock().now()), uow=uows)


def test_a_stream_message_cannot_be_pre_empted_from_http(
        make_client: Callable[..., Any], api_key: str, uow_factory: Uows,
        redis_client: redis.Redis, clean_db: Engine) -> None:
    client, _ = make_client()
    message_id = "1999999999999-0"  # a message the provider has not sent yet
    claimed = post(client, {**VALID, "idempotency_key": f"stream:{message_id}"}, api_key)
    assert claimed.status_code == 201
    deps = _deps(uow_factory)
    ingestor = StreamIngestor(redis_client, deps, "t")
    body = {"token_address": VALID["token_address"], "signal_type": "buy", "signal_strength": 70}
    ingestor.handle([(message_id, {"payload": json.dumps(body)})])
    rows = _rows(clean_db)
    assert [(key, ns.split(":")[0]) for _, key, ns in rows] == [
        (f"stream:{message_id}", "http"), (f"stream:{message_id}", "stream")]
    assert isinstance(deps.queue, RecordingQueue)
    assert deps.queue.fan_outs == [[rows[1][0]]]  # the real message was stored and fanned out
    assert redis_client.xlen("signalfleet:signals:dead") == 0


def test_a_task_cannot_be_pre_empted_from_http(
        make_client: Callable[..., Any], api_key: str, uow_factory: Uows,
        clean_db: Engine) -> None:
    client, _ = make_client()
    assert post(client, {**VALID, "idempotency_key": "task:abc"}, api_key).status_code == 201
    result = ingest({**VALID, "idempotency_key": "task:abc"}, _deps(uow_factory))
    assert result.created and count_signals(clean_db) == 2


def test_409_answers_only_the_callers_own_signal(
        make_client: Callable[..., Any], api_key: str, uow_factory: Uows,
        clean_db: Engine) -> None:
    other = create_key(uow_factory(), FixedClock(), user_email="other@example.com",
                       scopes=["signals"]).key
    client, _ = make_client()
    mine = post(client, {**VALID, "idempotency_key": "order-42"}, api_key)
    theirs = post(client, {**VALID, "idempotency_key": "order-42"}, other)
    assert mine.status_code == 201 and theirs.status_code == 201  # unrelated signals
    assert theirs.json()["id"] != mine.json()["id"]
    again = post(client, {**VALID, "idempotency_key": "order-42"}, other)
    assert again.status_code == 409 and again.json()["id"] == theirs.json()["id"]
    assert count_signals(clean_db) == 2


def test_the_operator_channels_keep_their_own_namespaces(
        uow_factory: Uows, clean_db: Engine) -> None:
    """The same key pushed on the stream and sent as a task: two signals; each repeated in
    its own channel: the existing one."""
    payload = {**VALID, "idempotency_key": "shared"}
    first = ingest(payload, _deps(uow_factory))
    again = ingest(payload, _deps(uow_factory))
    assert first.created and not again.created and again.signal_id == first.signal_id
    with uow_factory() as uow:
        streamed = uow.signals.add_many([parse_signal(payload)], FixedClock().now(),
                                        namespace="stream")
        uow.commit()
    assert streamed[0][1] and streamed[0][0] != first.signal_id
    assert [ns for _, _, ns in _rows(clean_db)] == ["task", "stream"]
