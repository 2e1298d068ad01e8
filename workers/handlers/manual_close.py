"""Use case: close one position by hand: ``fleet positions close ID`` (docs/rules.md §10).

The price comes from the feed before the transaction opens; the close itself runs under the
agent lock against the position re-read FOR UPDATE (a sweep that closed it first wins and
this reports ``no_position``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from domain.exits import MANUAL
from domain.ports import Clock, PriceFeed, UnitOfWork
from domain.positions import Position
from workers.handlers import trades
from workers.handlers.sweep import SwapsFor, position_wallet
from workers.handlers.trades import Touched

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ManualCloseDeps:
    uow: Callable[[], UnitOfWork]
    prices: PriceFeed
    swaps: SwapsFor
    write_cache: Callable[[Touched], None]
    clock: Clock


@dataclass(frozen=True)
class ManualClose:
    closed: bool
    reason: str | None = None  # no_position / price_unavailable / wallet_not_loaded
    sale_transaction_id: uuid.UUID | None = None


def close_position(position_id: uuid.UUID, deps: ManualCloseDeps) -> ManualClose:
    with deps.uow() as uow:
        found: Position | None = uow.positions.get(position_id)
    if found is None:
        return ManualClose(False, "no_position")
    quote = deps.prices.get_prices([found.token_address]).get(found.token_address)
    if quote is None:
        return ManualClose(False, "price_unavailable")
    touched = Touched()
    with deps.uow() as uow:
        uow.agents.lock_with_config(found.agent_id)
        position: Position | None = uow.positions.get(position_id, for_update=True)
        if position is None:
            return ManualClose(False, "no_position")
        wallet_swaps = position_wallet(uow, position, deps.swaps)
        if wallet_swaps is None:
            return ManualClose(False, "wallet_not_loaded")
        wallet, swaps = wallet_swaps
        now = deps.clock.now()
        fill = swaps.sell(wallet.wallet_address, position.token_address, position.holding, quote)
        trade = trades.close(uow, position, fill, quote, MANUAL, None, now, touched)
        uow.after_commit(lambda: deps.write_cache(touched))
        uow.commit()
    log.info("position.closed", reason=MANUAL, position_id=str(position_id),
             profit_loss_sol=str(trade.profit_loss_sol))
    return ManualClose(True, None, trade.sale_transaction_id)
