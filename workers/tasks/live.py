"""Live-trading tasks: run one swap submission, and the beat reconciler. Thin adapters only."""

from __future__ import annotations

import structlog

from workers.celery_app import app
from workers.handlers.live import execute_live
from workers.handlers.reconcile import reconcile as reconcile_handler
from workers.runtime import as_uuids, runtime
from workers.tasks.base import FleetTask


@app.task(name="live.execute", base=FleetTask, bind=True)
def execute(self: FleetTask, submission_id: str) -> str:
    structlog.contextvars.bind_contextvars(submission_id=submission_id)
    return execute_live(as_uuids([submission_id])[0], runtime().live_deps())


@app.task(name="live.reconcile", base=FleetTask, bind=True)
def reconcile(self: FleetTask) -> dict[str, int]:
    rt = runtime()
    s = rt.settings
    return reconcile_handler(rt.live_deps(), submitted_idle_s=s.live_submitted_idle_seconds,
                             intent_grace_s=s.live_intent_grace_seconds)
