"""The write path of a take-profit sale (docs/rules.md §8): the sale row (``is_take_profit``), its
balance changes and the position's new ladder state, inside the caller's transaction. A sale
that leaves dust and no moon bag closes the position (``take_profit``)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from domain import take_profit
from domain.exits import TAKE_PROFIT
from domain.ledger import Transaction
from domain.ports import Fill, PriceQuote, UnitOfWork
from domain.positions import Position
from workers.handlers import trades
from workers.handlers.trades import Touched


def take_profit_sale(uow: UnitOfWork, position: Position,
                     decision: take_profit.TakeProfitDecision, fill: Fill, quote: PriceQuote,
                     now: datetime, touched: Touched) -> Transaction:
    """Record the sale and update (or close) the position; the amounts follow the fill."""
    tx = trades.sell_transaction(position, fill, quote, now, None, is_take_profit=True)
    trades.record(uow, tx, now, touched)
    sold = dataclasses.replace(decision, sell_amount=fill.token_amount,
                               new_remaining=position.holding - fill.token_amount)
    updated = take_profit.apply_sale(position, sold, fill.sol_amount - fill.fees_sol, now)
    if updated.holding < take_profit.DUST and not updated.moon_bag_activated:
        trades.archive(uow, updated, tx, quote, TAKE_PROFIT, None, now, touched)
    else:
        uow.positions.update(updated)
        touched.positions[updated.id] = updated
    return tx
