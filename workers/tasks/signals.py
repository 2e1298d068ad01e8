"""Signal tasks: ingest, fan out, execute, and the outbox sweeper. Thin adapters only."""

from __future__ import annotations

from typing import Any

import structlog

from domain.errors import InvalidSignal
from domain.json_text import with_default
from workers.bootstrap import as_uuids, container
from workers.handlers.signals import ingest as ingest_handler
from workers.handlers.signals.execute import execute_signal
from workers.handlers.signals.fan_out import fan_out as fan_out_handler
from workers.handlers.signals.fan_out import requeue_stale as requeue_handler
from workers.ingest.dead_letters import dead_letter
from workers.tasks.base import FleetTask, fleet_task

log = structlog.get_logger(__name__)


@fleet_task("signals.ingest")
def ingest(self: FleetTask, payload: dict[str, Any]) -> int | None:
    """For Python providers (``send_task``); the task id keys a keyless payload. The
    fan-out runs here, after the commit (no second hop); a redelivery finds the stored
    signal and fans out only what is still missing."""
    c = container()
    keyed = with_default(payload, "idempotency_key", f"task:{self.request.id}")
    try:
        signal_id = ingest_handler.ingest(keyed, c.deps, enqueue=False).signal_id
    except InvalidSignal as exc:
        dead_letter(c.redis, payload, exc.field, exc.reason, source="task")
        return None
    structlog.contextvars.bind_contextvars(signal_id=signal_id)
    fan_out_handler(signal_id, c.deps)
    return signal_id


@fleet_task("signals.ingest_many")
def ingest_many(self: FleetTask, payloads: list[dict[str, Any]]) -> int:
    """A burst from a Python provider in one message and one transaction; returns how many
    were stored (invalid payloads are dead-lettered with their field and reason)."""
    c = container()
    keyed = [with_default(p, "idempotency_key", f"task:{self.request.id}:{i}")
             for i, p in enumerate(payloads)]
    return ingest_handler.ingest_batch(
        keyed, c.deps, lambda payload, bad: dead_letter(c.redis, dict(payload), bad.field,
                                                        bad.reason, source="task"))


@fleet_task("signals.fan_out")
def fan_out(self: FleetTask, signal_id: int) -> None:
    structlog.contextvars.bind_contextvars(signal_id=signal_id)
    fan_out_handler(signal_id, container().deps)


@fleet_task("signals.fan_out_many")
def fan_out_many(self: FleetTask, signal_ids: list[int]) -> None:
    """A batch from the stream ingestor; each signal's fan-out is idempotent on its own."""
    deps = container().deps
    for signal_id in signal_ids:
        structlog.contextvars.bind_contextvars(signal_id=signal_id)
        fan_out_handler(signal_id, deps)


@fleet_task("signals.execute")
def execute(self: FleetTask, signal_id: int, agent_ids: list[str], attempt: int = 0) -> None:
    """``attempt`` > 0: agents that waited for their turn (docs/rules.md §3)."""
    structlog.contextvars.bind_contextvars(signal_id=signal_id)
    execute_signal(signal_id, as_uuids(agent_ids), container().deps, attempt=attempt)


@fleet_task("signals.requeue_stale")
def requeue_stale(self: FleetTask) -> int:
    """The outbox sweeper: re-enqueue fan-out for signals unfinished after the grace period."""
    return requeue_handler(container().deps)
