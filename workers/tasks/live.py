"""Live-trading tasks: run one swap submission, and the beat reconciler. Thin adapters only."""

from __future__ import annotations

import structlog

from workers.bootstrap import as_uuids, container
from workers.handlers.live.reconcile import reconcile as reconcile_handler
from workers.handlers.live.swaps import execute_live
from workers.live_worker import require_key_for
from workers.tasks.base import FleetTask, fleet_task


@fleet_task("live.execute")
def execute(self: FleetTask, submission_id: str) -> str:
    structlog.contextvars.bind_contextvars(submission_id=submission_id)
    found, c = as_uuids([submission_id])[0], container()
    require_key_for(c, found)  # never signs, or fails, a swap whose key is elsewhere
    return execute_live(found, c.deps)


@fleet_task("live.reconcile")
def reconcile(self: FleetTask) -> dict[str, int]:
    return reconcile_handler(container().deps)
