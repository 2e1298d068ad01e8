"""Balances from the chain (beat ``wallets.sync``, maintenance queue). Thin adapter only."""

from __future__ import annotations

from workers.bootstrap import container
from workers.handlers.live.sync import sync_wallets, tally
from workers.tasks.base import FleetTask, fleet_task


@fleet_task("wallets.sync")
def sync(self: FleetTask) -> dict[str, int]:
    return tally(sync_wallets(container().deps))
