"""Use case: keep price history bounded (beat, every few minutes). Raw rows stay for the raw
window; older ones are folded into 1-minute bars, the oldest first, one span per
transaction, until none is left or the run's time budget is spent (the next run goes on).
Safe to run twice at once: the repository's advisory lock lets one fold at a time."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from workers.handlers.shared.deps import Deps

log = structlog.get_logger(__name__)


SPAN = timedelta(minutes=10)  # raw rows folded per transaction
BUDGET_SECONDS = 20.0  # a run's time budget, well inside the task's soft time limit


def raw_cutoff(now: datetime, raw_window: timedelta) -> datetime:
    """The start of the minute the raw window begins in: rows before it are folded."""
    return (now - raw_window).replace(second=0, microsecond=0)


def downsample_prices(deps: Deps, budget_seconds: float = BUDGET_SECONDS) -> int:
    """Fold raw price rows older than the raw window into 1-minute bars; returns the raw
    rows folded by this run."""
    cutoff = raw_cutoff(deps.clock.now(), deps.policy.price_history_raw)
    folded, deadline = 0, deps.monotonic() + budget_seconds
    while deps.monotonic() < deadline:
        with deps.uow() as uow:
            rows = uow.prices.fold_into_bars(cutoff, SPAN)
            uow.commit()
        if rows == 0:
            break
        folded += rows
    log.info("prices.downsampled", rows=folded, cutoff=cutoff.isoformat())
    return folded
