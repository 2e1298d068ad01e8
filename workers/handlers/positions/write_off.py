"""Use case: write a position off (``fleet positions write-off ID``, docs/rules.md §11
``burn``).

For a token with no price or no route: the position closes at zero proceeds, nothing is sent
to the chain (simulation and live alike). One transaction under the agent lock: a ``BURN``
ledger row takes the remaining tokens out of the balance, and the history row's PnL is the
cash flow of the position (Σ net proceeds of earlier sales − total invested), i.e. minus the
remaining cost basis. A live position with a swap in flight is refused: the swap decides
first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

import structlog

from domain.exits import BURN
from domain.ledger import Transaction
from domain.ports import PriceQuote
from domain.positions import Position
from domain.submissions import SWAP_IN_PROGRESS
from workers.handlers.positions.sweep import position_wallet
from workers.handlers.shared import trades
from workers.handlers.shared.deps import Deps
from workers.handlers.shared.trades import Order, Touched

log = structlog.get_logger(__name__)
NO_PRICE = "write_off"  # the source of the zero price a write-off is recorded at


@dataclass(frozen=True)
class WriteOff:
    written_off: bool
    reason: str | None = None  # no_position / wallet_not_found / swap_in_progress
    burn_transaction_id: uuid.UUID | None = None
    profit_loss_sol: Decimal | None = None


def write_off(position_id: uuid.UUID, deps: Deps) -> WriteOff:
    with deps.uow() as uow:
        found: Position | None = uow.positions.get(position_id)
    if found is None:
        return WriteOff(False, "no_position")
    touched, now = Touched(), deps.clock.now()
    with deps.uow() as uow:
        uow.agents.lock_with_config(found.agent_id)
        position: Position | None = uow.positions.get(position_id, for_update=True)
        if position is None:
            return WriteOff(False, "no_position")
        wallet = position_wallet(uow, position)
        if wallet is None:
            return WriteOff(False, "wallet_not_found")
        if wallet.wallet_type == "live" and uow.submissions.in_flight(position.agent_id):
            return WriteOff(False, SWAP_IN_PROGRESS)
        burn = Transaction(
            agent_id=position.agent_id, wallet_address=position.wallet_address,
            transaction_type="BURN", transaction_time=now, input_mint=position.token_address,
            input_symbol=position.token_symbol, input_amount=position.holding,
            input_price=Decimal(0), swap_payload={"write_off": True})
        trades.record(uow, burn, now, touched)
        zero = PriceQuote(position.token_address, Decimal(0), now, NO_PRICE, None)
        trade = trades.archive(uow, position, burn, BURN, Order(zero, now, touched))
        uow.after_commit(partial(deps.write_cache, touched))
        uow.commit()
    log.warning("position.written_off", reason=BURN, position_id=str(position_id),
                tokens=str(position.holding), profit_loss_sol=str(trade.profit_loss_sol))
    return WriteOff(True, None, burn.id, trade.profit_loss_sol)
