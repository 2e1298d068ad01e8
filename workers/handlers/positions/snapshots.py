"""Use case: the hourly balance snapshot (docs/rules.md §14). One upserted row per agent wallet and
UTC hour, so a second run in the same hour (two beats, a retry) overwrites, never duplicates.
Prices come from the feed before the write transaction opens; a token without a price is
left out of the figures (never guessed)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

import structlog

from domain import performance
from domain.ports import PriceQuote
from domain.positions import Position
from domain.records import WalletCash
from workers.handlers.shared.deps import Deps

log = structlog.get_logger(__name__)
Track = Callable[[Sequence[WalletCash]], Iterable[WalletCash]]


def _untracked(items: Sequence[WalletCash]) -> Iterable[WalletCash]:
    return items


def snapshot(deps: Deps, track: Track = _untracked) -> int:
    """Snapshot every agent wallet for the current UTC hour; returns the rows written.
    ``track`` wraps the wallets as they are computed (``fleet snapshots take`` shows it as a
    progress bar)."""
    with deps.uow() as uow:
        wallets = uow.snapshots.wallets()
        positions: Sequence[Position] = uow.positions.list_open()
    quotes = _prices(deps, positions)
    by_wallet: dict[str, list[performance.PricedPosition]] = defaultdict(list)
    for p in positions:
        quote = quotes.get(p.token_address)
        by_wallet[p.wallet_address].append((p, None if quote is None else quote.price_sol))
    rows: list[tuple[uuid.UUID, str, performance.Snapshot]] = [
        (w.agent_id, w.wallet_address,
         performance.snapshot(w.sol_balance, by_wallet.get(w.wallet_address, [])))
        for w in track(wallets)]
    hour = performance.snapshot_hour(deps.clock.now())
    with deps.uow() as uow:
        written: int = uow.snapshots.upsert_many(hour, rows)
        uow.commit()
    log.info("balances.snapshot", hour=hour.isoformat(), wallets=written)
    return written


def _prices(deps: Deps, positions: Sequence[Position]) -> dict[str, PriceQuote]:
    tokens = sorted({p.token_address for p in positions})
    if not tokens:
        return {}
    quotes = deps.prices.get_prices(tokens)
    missing = [t for t in tokens if t not in quotes]
    if missing:
        log.warning("snapshot.price_missing", tokens=missing)
    return quotes
