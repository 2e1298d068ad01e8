"""Signal tasks: ingest, fan out, execute, and the outbox sweeper. Thin adapters only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from domain.errors import InvalidSignal
from domain.json_text import with_default
from workers.celery_app import app
from workers.handlers import ingest as ingest_handler
from workers.handlers.execute import execute_signal
from workers.handlers.fan_out import fan_out as fan_out_handler
from workers.ingest.dead_letters import dead_letter
from workers.runtime import as_uuids, runtime
from workers.tasks.base import FleetTask

log = structlog.get_logger(__name__)


@app.task(name="signals.ingest", base=FleetTask, bind=True)
def ingest(self: FleetTask, payload: dict[str, Any]) -> int | None:
    """For Python providers (``send_task``); the task id keys a keyless payload. The
    fan-out runs here, after the commit (no second hop); a redelivery finds the stored
    signal and fans out only what is still missing."""
    rt = runtime()
    keyed = with_default(payload, "idempotency_key", f"task:{self.request.id}")
    try:
        signal_id = ingest_handler.ingest(keyed, rt.uow(), rt.clock, lambda _: None,
                                          rt.settings.vocabulary).signal_id
    except InvalidSignal as exc:
        dead_letter(rt.redis, payload, exc.field, exc.reason, source="task")
        return None
    structlog.contextvars.bind_contextvars(signal_id=signal_id)
    fan_out_handler(signal_id, rt.fan_out_deps())
    return signal_id


@app.task(name="signals.ingest_many", base=FleetTask, bind=True)
def ingest_many(self: FleetTask, payloads: list[dict[str, Any]]) -> int:
    """A burst from a Python provider in one message and one transaction; returns how many
    were stored (invalid payloads are dead-lettered with their field and reason)."""
    rt = runtime()
    keyed = [with_default(p, "idempotency_key", f"task:{self.request.id}:{i}")
             for i, p in enumerate(payloads)]
    return ingest_handler.ingest_batch(
        keyed, rt.uow(), rt.clock, rt.enqueue_fan_out_batch,
        lambda payload, bad: dead_letter(rt.redis, payload, bad.field, bad.reason,
                                         source="task"), rt.settings.vocabulary)


@app.task(name="signals.fan_out", base=FleetTask, bind=True)
def fan_out(self: FleetTask, signal_id: int) -> None:
    structlog.contextvars.bind_contextvars(signal_id=signal_id)
    fan_out_handler(signal_id, runtime().fan_out_deps())


@app.task(name="signals.fan_out_many", base=FleetTask, bind=True)
def fan_out_many(self: FleetTask, signal_ids: list[int]) -> None:
    """A batch from the stream ingestor; each signal's fan-out is idempotent on its own."""
    deps = runtime().fan_out_deps()
    for signal_id in signal_ids:
        structlog.contextvars.bind_contextvars(signal_id=signal_id)
        fan_out_handler(signal_id, deps)


@app.task(name="signals.execute", base=FleetTask, bind=True)
def execute(self: FleetTask, signal_id: int, agent_ids: list[str]) -> None:
    structlog.contextvars.bind_contextvars(signal_id=signal_id)
    execute_signal(signal_id, as_uuids(agent_ids), runtime().execution_deps())


@app.task(name="signals.requeue_stale", base=FleetTask, bind=True)
def requeue_stale(self: FleetTask) -> int:
    """The outbox sweeper: re-enqueue fan-out for signals unfinished after the grace period."""
    rt = runtime()
    with rt.uow() as uow:
        stale = uow.signals.unfinished_before(
            rt.clock.now(), timedelta(seconds=rt.settings.pending_grace_seconds))
    for signal_id in stale:
        rt.send("signals.fan_out", signal_id)
    if stale:
        log.info("signals.requeued", count=len(stale))
    return len(stale)
