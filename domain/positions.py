"""An open position, field for field the docs/rules.md §15 ``agent_positions`` row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.errors import InvalidInput
from domain.money import ZERO, in_context, percent, price, sol


@dataclass(frozen=True, kw_only=True, slots=True)
class Position:
    """An open position. ``purchase_price`` is the fill-price average (fees excluded);
    ``total_invested_sol`` is the cash spent (fees included); ``purchase_amount`` counts every
    token ever bought and ``remaining_amount`` (None until the first sale) what is still held.
    """

    id: uuid.UUID
    agent_id: uuid.UUID
    wallet_address: str
    token_address: str
    token_symbol: str | None = None
    purchase_transaction_id: uuid.UUID
    purchase_price: Decimal
    purchase_amount: Decimal
    remaining_amount: Decimal | None = None
    total_invested_sol: Decimal
    current_stop_loss_percentage: Decimal | None = None
    peak_price: Decimal | None = None
    last_stop_loss_update: datetime | None = None
    lowest_price: Decimal | None = None
    dca_count: int = 0
    last_dca_time: datetime | None = None
    take_profit_levels_hit: int = 0
    tp_batch_start_level: int = 0
    total_take_profit_levels: int | None = None
    moon_bag_activated: bool = False
    moon_bag_amount: Decimal | None = None
    realized_profit_sol: Decimal = ZERO
    # Tokens that left the wallet without a swap since the position opened, as the wallet
    # sync found them (docs/rules.md §12); None when none did. Flags it to the operator.
    tokens_left: Decimal | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def holding(self) -> Decimal:
        """The tokens held now: ``remaining_amount`` once set, else ``purchase_amount``."""
        return self.remaining_amount if self.remaining_amount is not None else self.purchase_amount

    @property
    def only_moon_bag(self) -> bool:
        """True when all that is left is the moon bag (docs/rules.md §6, §8 ``only_moon_bag``)."""
        return (
            self.moon_bag_activated
            and self.moon_bag_amount is not None
            and self.holding <= self.moon_bag_amount
        )


@in_context
def open_position(
    *,
    id: uuid.UUID,
    agent_id: uuid.UUID,
    wallet_address: str,
    token_address: str,
    token_symbol: str | None,
    purchase_transaction_id: uuid.UUID,
    sol_swapped: Decimal,
    tokens_received: Decimal,
    fees_sol: Decimal,
    stop_loss_percentage: Decimal,
    now: datetime,
) -> Position:
    """The position an opening buy creates (docs/rules.md §5): price = SOL swapped / tokens (fees
    excluded), invested = SOL swapped + fees, SL = the default % (at the stored 4 dp), peak =
    the purchase price."""
    if sol_swapped <= 0:
        raise InvalidInput("sol_swapped", "must be > 0")
    if tokens_received <= 0:
        raise InvalidInput("tokens_received", "must be > 0")
    if fees_sol < 0:
        raise InvalidInput("fees_sol", "must be >= 0")
    avg = price(sol_swapped / tokens_received)
    return Position(
        id=id, agent_id=agent_id, wallet_address=wallet_address, token_address=token_address,
        token_symbol=token_symbol, purchase_transaction_id=purchase_transaction_id,
        purchase_price=avg, purchase_amount=tokens_received,
        total_invested_sol=sol(sol_swapped + fees_sol),
        current_stop_loss_percentage=percent(stop_loss_percentage), peak_price=avg,
        last_stop_loss_update=now, lowest_price=avg, created_at=now, updated_at=now,
    )
