"""Use case: keep price history bounded (beat, every few minutes). Raw rows stay for the raw
window; older ones are folded into 1-minute bars, the oldest first, one span per
transaction, until none is left or the run's time budget is spent (the next run goes on).
Safe to run twice at once: the repository's advisory lock lets one fold at a time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from domain.ports import Clock, UnitOfWork

log = structlog.get_logger(__name__)


class PriceHistoryUnitOfWork(UnitOfWork, Protocol):
    prices: Any  # TokenPriceRepository

    def __enter__(self) -> PriceHistoryUnitOfWork: ...


@dataclass(frozen=True)
class PriceHistoryDeps:
    uow: Callable[[], PriceHistoryUnitOfWork]
    clock: Clock
    raw_window: timedelta
    span: timedelta = timedelta(minutes=10)  # raw rows folded per transaction
    budget_seconds: float = 20.0  # well inside the task's soft time limit


def raw_cutoff(now: datetime, raw_window: timedelta) -> datetime:
    """The start of the minute the raw window begins in: rows before it are folded."""
    return (now - raw_window).replace(second=0, microsecond=0)


def downsample_prices(deps: PriceHistoryDeps) -> int:
    """Fold raw price rows older than the raw window into 1-minute bars; returns the raw
    rows folded by this run."""
    cutoff = raw_cutoff(deps.clock.now(), deps.raw_window)
    folded, deadline = 0, time.monotonic() + deps.budget_seconds
    while time.monotonic() < deadline:
        with deps.uow() as uow:
            rows = int(uow.prices.fold_into_bars(cutoff, deps.span))
            uow.commit()
        if rows == 0:
            break
        folded += rows
    log.info("prices.downsampled", rows=folded, cutoff=cutoff.isoformat())
    return folded
