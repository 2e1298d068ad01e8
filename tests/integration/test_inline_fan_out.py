"""The stream ingestor's low-latency path on the real database (workers/handlers/signals/
fan_out.py ``fan_out_here``): a row lock held elsewhere makes it hand the signal to the
workers within the ingestor's ``lock_timeout``, with nothing recorded and nothing failed;
the workers then execute it once."""

from __future__ import annotations

import dataclasses
import time

import pytest
from sqlalchemy import Engine, select, text

from persistence import models as m
from persistence.db import PoolConfig, make_engine, make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.fakes import RecordingQueue
from tests.integration.test_signal_order import Uow, _agents, _deps, _signals, _status
from workers.handlers.shared.deps import Policy
from workers.handlers.signals.fan_out import fan_out, fan_out_here


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
