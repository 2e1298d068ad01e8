"""The ledger: transactions are the source of truth; balances are their fold (docs/rules.md §15).

Convention for every row: the wallet loses ``input_amount`` of ``input_mint``, gains
``output_amount`` of ``output_mint``, and pays ``protocol_fee_sol + network_fee_sol`` in SOL.
A buy swaps SOL (fees excluded) for tokens; a sell's output is the gross SOL before fees;
a deposit has only an output, a withdrawal only an input; an adjustment (tokens the wallet
sync found in or out, domain/wallet_sync.py) has one of the two.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

SOL_MINT = "So11111111111111111111111111111111111111112"
SOL_SYMBOL = "SOL"


@dataclass(frozen=True)
class Transaction:
    agent_id: uuid.UUID
    wallet_address: str
    transaction_type: str  # DEPOSIT / WITHDRAWAL / SWAP / BURN / ADJUSTMENT
    transaction_time: datetime
    input_mint: str | None = None
    input_symbol: str | None = None
    input_amount: Decimal | None = None
    input_price: Decimal | None = None
    output_mint: str | None = None
    output_symbol: str | None = None
    output_amount: Decimal | None = None
    output_price: Decimal | None = None
    protocol_fee_sol: Decimal = Decimal("0")
    network_fee_sol: Decimal = Decimal("0")
    transaction_value_usd: Decimal | None = None
    slippage: Decimal | None = None
    price_impact: Decimal | None = None
    transaction_hash: str | None = None
    swap_payload: Mapping[str, Any] | None = None
    routes: Sequence[Mapping[str, Any]] | None = None
    signal_id: int | None = None
    is_dca: bool = False
    is_take_profit: bool = False
    # Set on the rows the wallet sync writes (domain/wallet_sync.py): deposit, withdrawal or
    # unexplained; None on every other row.
    adjustment: str | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def fees_sol(self) -> Decimal:
        return self.protocol_fee_sol + self.network_fee_sol

    def balance_changes(self) -> dict[str, Decimal]:
        """Per mint, what this row adds to (or, negative, takes from) the wallet."""
        changes: dict[str, Decimal] = defaultdict(Decimal)
        if self.input_mint is not None and self.input_amount is not None:
            changes[self.input_mint] -= self.input_amount
        if self.output_mint is not None and self.output_amount is not None:
            changes[self.output_mint] += self.output_amount
        if self.fees_sol:
            changes[SOL_MINT] -= self.fees_sol
        return dict(changes)


def fold_balances(transactions: Iterable[Transaction]) -> dict[tuple[str, str], Decimal]:
    """(wallet_address, mint) → balance implied by the ledger."""
    balances: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for tx in transactions:
        for mint, change in tx.balance_changes().items():
            balances[(tx.wallet_address, mint)] += change
    return dict(balances)


@dataclass(frozen=True)
class ClosedTrade:
    """One agent_historical_swaps row: a fully closed position (docs/rules.md §15)."""

    agent_id: uuid.UUID
    wallet_address: str
    token_address: str
    token_symbol: str | None
    amount: Decimal
    purchase_price: Decimal
    sale_price: Decimal
    change_percent: Decimal
    profit_loss_sol: Decimal
    profit_loss_usd: Decimal | None
    purchase_time: datetime
    sale_time: datetime
    purchase_transaction_id: uuid.UUID
    sale_transaction_id: uuid.UUID
    signal_id: int | None
    close_reason: str
