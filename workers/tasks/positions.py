"""Position sweeps: fan out by token, then sweep each chunk. Thin adapters only."""

from __future__ import annotations

import structlog

from workers.bootstrap import container
from workers.handlers.positions.sweep import sweep, sweep_all
from workers.tasks.base import FleetTask, fleet_task


@fleet_task("positions.sweep")
def sweep_everything(self: FleetTask) -> int:
    """One ``positions.sweep_tokens`` per chunk of tokens: a slow token delays only its own."""
    return sweep_all(container().deps)


@fleet_task("positions.sweep_tokens")
def sweep_tokens(self: FleetTask, token_addresses: list[str]) -> int:
    structlog.contextvars.bind_contextvars(tokens=len(token_addresses))
    return sum(sweep(token_addresses, container().deps).actions.values())
