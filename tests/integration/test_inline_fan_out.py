"""The stream ingestor's low-latency path on the real database (workers/handlers/signals/
fan_out.py ``fan_out_here``): a row lock held elsewhere makes it hand the signal to the
workers within the ingestor's ``lock_timeout``, with nothing recorded and nothing failed;
the workers then execute it once. A broker refusing the hand-on never stops the ingestor."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Sequence

import kombu.exceptions
import pytest
import redis
from sqlalchemy import Engine, select, text

from persistence import models as m
from persistence.db import PoolConfig, make_engine, make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.fakes import RecordingQueue
from tests.integration.test_signal_order import TOKEN, Uow, _agents, _deps, _signals, _status
from tests.services import TestServers
from workers.handlers.shared.deps import Policy
from workers.handlers.signals.fan_out import fan_out, fan_out_here
from workers.ingest.stream import SIGNALS_STREAM, StreamIngestor


def _executions(engine: Engine, signal_id: int) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [(r.status, r.action) for r in conn.execute(
            select(m.SignalExecution).where(m.SignalExecution.signal_id == signal_id))]


@pytest.mark.parametrize(("held", "left"), [
    # an operator's open transaction updated the agent: the execution's lock waits
    ("UPDATE agents SET name = name WHERE id = :a", "dispatched"),
    # a lock on the whole row: the dispatch's signal_targets row (its foreign key) waits
    ("SELECT 1 FROM agents WHERE id = :a FOR UPDATE", "pending"),
])
def test_a_lock_held_elsewhere_hands_the_signal_to_the_workers(
        database_url: str, uow_factory: Uow, clean_db: Engine, held: str, left: str) -> None:
    [agent] = _agents(uow_factory, 1)
    [signal_id] = _signals(uow_factory, "buy")
    engine = make_engine(database_url, PoolConfig(size=2, lock_timeout_ms=200))
    factory = make_session_factory(engine)
    deps = dataclasses.replace(_deps(lambda: SqlAlchemyUnitOfWork(factory)),
                               policy=Policy(inline_agents=10))
    assert isinstance(deps.queue, RecordingQueue)
    try:
        with clean_db.connect() as conn:
            conn.execute(text(held), {"a": agent})
            started = time.monotonic()
            fan_out_here([signal_id], deps)
            waited = time.monotonic() - started
            conn.rollback()
    finally:
        engine.dispose()
    assert waited < 3, f"the ingestor waited {waited:.1f} s for the lock"
    assert deps.queue.fan_outs == [[signal_id]]  # handed to the workers
    assert _executions(clean_db, signal_id) == []  # nothing recorded, nothing FAILED
    assert _status(clean_db, signal_id) == left
    fan_out(signal_id, _deps(uow_factory))  # a worker's run, the lock gone
    assert _executions(clean_db, signal_id) == [("EXECUTED", "open")]
    assert _status(clean_db, signal_id) == "processed"


@dataclasses.dataclass
class FullBroker(RecordingQueue):
    """The broker's Redis full: its first enqueue is refused as kombu raises it, wrapping
    Redis's out-of-memory reply (seen in tests/chaos/test_memory_pressure.py)."""

    refusals: int = 1

    def fan_out(self, signal_ids: Sequence[int]) -> None:
        if self.refusals:
            self.refusals -= 1
            try:
                raise redis.exceptions.OutOfMemoryError(
                    "command not allowed when used memory > 'maxmemory'.")
            except redis.exceptions.OutOfMemoryError as full:
                raise kombu.exceptions.OperationalError(str(full)) from full
        super().fan_out(signal_ids)


def test_a_broker_refusing_the_fan_out_never_stops_the_ingestor(
        servers: TestServers, uow_factory: Uow, clean_db: Engine) -> None:
    """The batch is stored and acknowledged before its fan-out is enqueued; a refusal there
    is an outage the ingestor waits out, as it waits out Redis refusing its own writes. The
    signals wait, stored, for the outbox sweeper (or the next enqueue)."""
    client = redis.Redis.from_url(servers.redis.url_for(6), decode_responses=True)
    client.flushdb()  # a database of the session's own Redis that nothing else uses
    deps = dataclasses.replace(_deps(uow_factory), queue=FullBroker(),
                               policy=Policy(inline_agents=10))
    ingestor = StreamIngestor(client, deps, "full-broker", block_ms=10)
    ingestor.ensure_group()
    batch = deps.policy.inline_signals + 1  # past the inline path: queued as one batch
    for i in range(batch):
        client.xadd(SIGNALS_STREAM, {"payload": json.dumps({
            "token_address": TOKEN, "signal_type": "buy", "signal_strength": 50,
            "idempotency_key": f"full-{i}"})})
    stop = threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            ingestor.run(stop)
        except BaseException as exc:  # what would have ended the process
            failed.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while _stored(clean_db) < batch and time.monotonic() < deadline and not failed:
            time.sleep(0.05)
        time.sleep(0.3)  # the refusal and the wait after it
        assert thread.is_alive() and failed == []
    finally:
        stop.set()
        thread.join(10)
        client.close()
    assert failed == [] and not thread.is_alive()
    assert deps.queue.refusals == 0  # the broker did refuse
    assert _stored(clean_db) == batch and client.xlen(SIGNALS_STREAM) == 0  # none lost
    assert deps.queue.fan_outs == []  # left pending for the outbox sweeper


def _stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM trading_signals WHERE status = 'pending'")).scalar_one())
