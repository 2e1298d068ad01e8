"""Use case: close one position by hand (``fleet positions close ID``, docs/rules.md §10
``manual``).

The price comes from the feed before the transaction opens; the close itself runs under the
agent lock against the position re-read FOR UPDATE (a sweep that closed it first wins and
this reports ``no_position``). A live position's close takes the one live path (docs/rules.md
§12): a ``close`` intent (reason ``manual``) that ``live.execute`` runs on a worker holding
the wallet's key after the commit; it is closed when the chain confirms the sale."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import partial

import structlog

from domain.exits import MANUAL
from domain.ports import UnitOfWork
from domain.positions import Position
from domain.submissions import CLOSE, SWAP_IN_PROGRESS
from domain.wallet_sync import TOKENS_LEFT
from domain.wallets import Wallet
from workers.handlers.live.intents import Intent, record_intent
from workers.handlers.positions.sweep import position_wallet
from workers.handlers.shared import trades
from workers.handlers.shared.deps import Deps
from workers.handlers.shared.trades import Order, Touched

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ManualClose:
    closed: bool
    reason: str | None = None  # no_position / price_unavailable / wallet_not_found /
    #                              swap_in_progress / tokens_left (nothing held: write it off)
    sale_transaction_id: uuid.UUID | None = None
    submission_id: uuid.UUID | None = None  # a live close, handed to live.execute


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
        if wallet is None:
            return ManualClose(False, "wallet_not_found")
        order = Order(quote, deps.clock.now(), touched)
        if wallet.wallet_type == "live":
            return _live(uow, wallet, position, order, deps)
        fill = deps.paper.sell(wallet.wallet_address, position.token_address, position.holding,
                               quote)
        trade = trades.close(uow, position, fill, MANUAL, order)
        uow.after_commit(partial(deps.write_cache, touched))
        uow.commit()
    log.info("position.closed", reason=MANUAL, position_id=str(position_id),
             profit_loss_sol=str(trade.profit_loss_sol))
    return ManualClose(True, None, trade.sale_transaction_id)


def _live(uow: UnitOfWork, wallet: Wallet, position: Position, order: Order,
          deps: Deps) -> ManualClose:
    """Record the live close and hand it to ``live.execute`` once committed; refused while
    the agent has a live swap in flight (one at a time per agent)."""
    if uow.submissions.in_flight(position.agent_id):
        return ManualClose(False, SWAP_IN_PROGRESS)
    if position.holding <= 0:  # every token left the wallet: `fleet positions write-off`
        return ManualClose(False, TOKENS_LEFT)
    intent = Intent(CLOSE, position.token_address, position.token_symbol, position.holding,
                    MANUAL)
    submission = record_intent(uow, wallet, intent, order)
    uow.after_commit(partial(deps.queue.run_live, submission.id))
    uow.commit()
    log.info("position.close_submitted", reason=MANUAL, position_id=str(position.id),
             submission_id=str(submission.id))
    return ManualClose(False, None, submission_id=submission.id)
