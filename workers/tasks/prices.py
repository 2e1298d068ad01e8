"""Price tasks: refresh the prices of the open positions' tokens. Thin adapters only."""

from __future__ import annotations

import structlog

from domain.errors import TransientError
from workers.celery_app import app
from workers.handlers.prices import refresh_prices
from workers.position_jobs import price_deps
from workers.runtime import runtime
from workers.tasks.base import FleetTask

log = structlog.get_logger(__name__)


@app.task(name="prices.refresh", base=FleetTask, bind=True)
def refresh(self: FleetTask) -> int:
    """Not retried: beat sends the next one within seconds, and retries of every missed
    tick would multiply the calls to a feed that is already refusing them."""
    try:
        return len(refresh_prices(price_deps(runtime())))
    except TransientError as exc:
        log.warning("prices.refresh_skipped", error=str(exc))
        return 0
