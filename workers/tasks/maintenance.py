"""Maintenance tasks (beat, the maintenance queue): bounded storage. Thin adapters only."""

from __future__ import annotations

import structlog

from domain.errors import TransientError
from workers.bootstrap import container
from workers.handlers.positions.price_history import downsample_prices
from workers.tasks.base import FleetTask, fleet_task

log = structlog.get_logger(__name__)


@fleet_task("ops.downsample_prices")
def downsample(self: FleetTask) -> int:
    """Not retried: beat sends the next run in minutes and it folds what this one left."""
    try:
        return downsample_prices(container().deps)
    except TransientError as exc:
        log.warning("prices.downsample_skipped", error=str(exc))
        return 0
