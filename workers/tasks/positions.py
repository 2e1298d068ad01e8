"""Position sweeps: fan out by token, then sweep each chunk. Thin adapters only."""

from __future__ import annotations

import structlog

from workers.celery_app import app
from workers.handlers.sweep import sweep, token_batches
from workers.position_jobs import SWEEP_CHUNK_SIZE, sweep_deps
from workers.runtime import runtime
from workers.tasks.base import FleetTask


@app.task(name="positions.sweep", base=FleetTask, bind=True)
def sweep_all(self: FleetTask) -> int:
    """One ``positions.sweep_tokens`` per chunk of tokens: a slow token delays only its own."""
    rt = runtime()
    batches = token_batches(rt.uow, SWEEP_CHUNK_SIZE)
    for tokens in batches:
        rt.send("positions.sweep_tokens", tokens)
    return len(batches)


@app.task(name="positions.sweep_tokens", base=FleetTask, bind=True)
def sweep_tokens(self: FleetTask, token_addresses: list[str]) -> int:
    structlog.contextvars.bind_contextvars(tokens=len(token_addresses))
    return sum(sweep(token_addresses, sweep_deps(runtime())).actions.values())
