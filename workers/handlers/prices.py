"""Use case: refresh the prices of every token with an open position (beat, every few
seconds). The feed is asked before any transaction opens; the history rows are one batch
insert; the latest prices reach the Redis cache only after commit."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from domain.ports import PriceFeed, PriceQuote, UnitOfWork

log = structlog.get_logger(__name__)


class PricesUnitOfWork(UnitOfWork, Protocol):
    prices: Any  # TokenPriceRepository
    snapshots: Any  # SnapshotRepository

    def __enter__(self) -> PricesUnitOfWork: ...


@dataclass(frozen=True)
class PriceDeps:
    uow: Callable[[], PricesUnitOfWork]
    prices: PriceFeed
    write_prices: Callable[[Iterable[PriceQuote]], None]  # Cache.write_prices


def refresh_prices(deps: PriceDeps) -> list[str]:
    """Fetch, store and cache the prices of the open positions' tokens; returns the tokens
    priced. A token the feed cannot price is logged and left alone (its cached price ages
    until the sweep's freshness check skips it)."""
    with deps.uow() as uow:
        tokens: list[str] = uow.positions.open_tokens()
    if not tokens:
        return []
    quotes = deps.prices.get_prices(tokens)
    missing = sorted(set(tokens) - set(quotes))
    if missing:
        log.warning("prices.missing", tokens=missing, count=len(missing))
    fresh = [quotes[t] for t in tokens if t in quotes]
    if fresh:
        with deps.uow() as uow:
            uow.prices.add_many(fresh)
            uow.after_commit(lambda: deps.write_prices(fresh))
            uow.commit()
    log.info("prices.refreshed", count=len(fresh), missing=len(missing))
    return [q.token_address for q in fresh]
