"""Use case: refresh the prices of every token with an open position (beat, every few
seconds). The feed is asked before any transaction opens; the history rows are one batch
insert; the latest prices reach the Redis cache only after commit."""

from __future__ import annotations

from functools import partial

import structlog

from workers.handlers.shared.deps import Deps

log = structlog.get_logger(__name__)


def refresh_prices(deps: Deps) -> list[str]:
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
            uow.after_commit(partial(deps.cache.write_prices, fresh))
            uow.commit()
    log.info("prices.refreshed", count=len(fresh), missing=len(missing))
    return [q.token_address for q in fresh]
