"""Live-trading tasks: run one swap submission, and the beat reconciler. Thin adapters only."""

from __future__ import annotations

import structlog

from workers.bootstrap import as_uuids, container
from workers.handlers.live.reconcile import reconcile as reconcile_handler
from workers.handlers.live.swaps import execute_live
from workers.tasks.base import FleetTask, fleet_task


@fleet_task("live.execute")
def execute(self: FleetTask, submission_id: str) -> str:
    structlog.contextvars.bind_contextvars(submission_id=submission_id)
    return execute_live(as_uuids([submission_id])[0], container().deps)


@fleet_task("live.reconcile")
def reconcile(self: FleetTask) -> dict[str, int]:
    return reconcile_handler(container().deps)
