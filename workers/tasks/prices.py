"""Price tasks: refresh the prices of the open positions' tokens. Thin adapters only."""

from __future__ import annotations

from workers.celery_app import app
from workers.handlers.prices import refresh_prices
from workers.position_jobs import price_deps
from workers.runtime import runtime
from workers.tasks.base import FleetTask


@app.task(name="prices.refresh", base=FleetTask, bind=True)
def refresh(self: FleetTask) -> int:
    return len(refresh_prices(price_deps(runtime())))
