"""Price tasks: refresh the prices of the open positions' tokens. Thin adapters only."""

from __future__ import annotations

import structlog

from domain.errors import TransientError
from workers.bootstrap import container
from workers.handlers.positions.prices import refresh_prices
from workers.tasks.base import FleetTask, fleet_task

log = structlog.get_logger(__name__)


@fleet_task("prices.refresh")
def refresh(self: FleetTask) -> int:
    """Not retried: beat sends the next one within seconds, and retries of every missed
    tick would multiply the calls to a feed that is already refusing them."""
    try:
        return len(refresh_prices(container().deps))
    except TransientError as exc:
        log.warning("prices.refresh_skipped", error=str(exc))
        return 0
