"""Maintenance tasks (beat, the maintenance queue): bounded storage. Thin adapters only."""

from __future__ import annotations

from datetime import timedelta

import structlog

from domain.errors import TransientError
from workers.celery_app import app
from workers.handlers.positions.price_history import PriceHistoryDeps, downsample_prices
from workers.runtime import runtime
from workers.tasks.base import FleetTask

log = structlog.get_logger(__name__)


@app.task(name="ops.downsample_prices", base=FleetTask, bind=True)
def downsample(self: FleetTask) -> int:
    """Not retried: beat sends the next run in minutes and it folds what this one left."""
    rt = runtime()
    hours = timedelta(hours=rt.settings.price_history_raw_hours)
    try:
        return downsample_prices(PriceHistoryDeps(uow=rt.uow, clock=rt.clock, raw_window=hours))
    except TransientError as exc:
        log.warning("prices.downsample_skipped", error=str(exc))
        return 0
