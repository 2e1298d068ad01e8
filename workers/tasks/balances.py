"""Balance snapshot task (hourly on beat). Thin adapter only."""

from __future__ import annotations

from workers.celery_app import app
from workers.handlers.snapshots import snapshot
from workers.position_jobs import snapshot_deps
from workers.runtime import runtime
from workers.tasks.base import FleetTask


@app.task(name="balances.snapshot", base=FleetTask, bind=True)
def take_snapshot(self: FleetTask) -> int:
    return snapshot(snapshot_deps(runtime()))
