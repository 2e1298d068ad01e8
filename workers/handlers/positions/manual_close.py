"""Use case: close one position by hand (``fleet positions close ID``, docs/rules.md §10
``manual``).

The price comes from the feed before the transaction opens; the close itself runs under the
agent lock against the position re-read FOR UPDATE (a sweep that closed it first wins and
this reports ``no_position``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import partial

import structlog

from domain.exits import MANUAL
from domain.positions import Position
from workers.handlers.positions.sweep import position_wallet
from workers.handlers.shared import trades
from workers.handlers.shared.deps import Deps
from workers.handlers.shared.trades import Order, Touched

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ManualClose:
    closed: bool
    reason: str | None = None  # no_position / price_unavailable / wallet_not_loaded
    sale_transaction_id: uuid.UUID | None = None


def close_position(position_id: uuid.UUID, deps: Deps) -> ManualClose:
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
        wallet = position_wallet(uow, position)
        if wallet is None or wallet.wallet_type == "live":  # live closes: issue 14
            return ManualClose(False, "wallet_not_loaded")
        order = Order(quote, deps.clock.now(), touched)
        fill = deps.paper.sell(wallet.wallet_address, position.token_address, position.holding,
                               quote)
        trade = trades.close(uow, position, fill, MANUAL, order)
        uow.after_commit(partial(deps.write_cache, touched))
        uow.commit()
    log.info("position.closed", reason=MANUAL, position_id=str(position_id),
             profit_loss_sol=str(trade.profit_loss_sol))
    return ManualClose(True, None, trade.sale_transaction_id)
