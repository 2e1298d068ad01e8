"""Balance snapshot task (hourly on beat). Thin adapter only."""

from __future__ import annotations

from workers.bootstrap import container
from workers.handlers.positions.snapshots import snapshot
from workers.tasks.base import FleetTask, fleet_task


@fleet_task("balances.snapshot")
def take_snapshot(self: FleetTask) -> int:
    return snapshot(container().deps)
