"""The response shapes of the read API (``/v1/agents``, ``/v1/positions``, ``/v1/trades``, …),
for the answers and the OpenAPI document.

Money and token amounts are exact decimals written as JSON strings (``"1.5"``, never a float,
never an exponent); times are ISO 8601 in UTC.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, PlainSerializer, WithJsonSchema

DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"


def _plain(value: Decimal) -> str:
    """``1.50000000`` → ``"1.5"``, ``0E-8`` → ``"0"``: exact, without exponent or padding."""
    text = format(value.normalize(), "f") if value else "0"
    return text


Amount = Annotated[
    Decimal,
    PlainSerializer(_plain, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN,
                    "description": "an exact decimal number, as a string"},
                   mode="serialization"),
]


class AgentOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    trading_mode: Literal["simulation", "live"]
    automated_trading_simulation: bool
    automated_trading_live: bool
    archived_at: datetime | None
    created_at: datetime
    sol_balance: Amount
    open_positions: int


class StopLossOut(BaseModel):
    percentage: Amount | None  # relative to the average purchase price; ratchets up only
    stop_price: Amount | None  # sell when the price falls to this (SOL per token)
    peak_price: Amount | None


class TakeProfitOut(BaseModel):
    enabled: bool | None  # None: the agent's stored config no longer parses
    levels_hit: int
    levels_total: int | None
    next_target_percent: Amount | None  # gain over the average that sells the next level


class MoonBagOut(BaseModel):
    activated: bool
    amount: Amount | None  # tokens kept when the last take-profit level sells


class PositionOut(BaseModel):
    id: uuid.UUID
    agent_id: uuid.UUID
    wallet_address: str
    token_address: str
    token_symbol: str | None
    purchase_price: Amount  # the fill-price average (fees excluded)
    purchase_amount: Amount  # every token ever bought into the position
    holding: Amount  # the tokens held now
    total_invested_sol: Amount  # the cash spent, fees included
    realized_profit_sol: Amount  # Σ PnL of the take-profit sales so far
    stop_loss: StopLossOut
    take_profit: TakeProfitOut
    moon_bag: MoonBagOut
    dca_count: int
    last_dca_time: datetime | None
    created_at: datetime
    updated_at: datetime


class ExecutionOut(BaseModel):
    signal_id: int
    agent_id: uuid.UUID
    agent_name: str
    status: Literal["EXECUTED", "SKIPPED", "FAILED", "PENDING"]
    action: Literal["open", "dca", "close", "none"]
    reason: str | None  # a stable lowercase code (docs/rules.md)
    transaction_id: uuid.UUID | None
    executed_at: datetime


class TradeOut(BaseModel):
    id: uuid.UUID
    agent_id: uuid.UUID
    agent_name: str
    wallet_address: str
    token_address: str
    token_symbol: str | None
    amount: Amount
    purchase_price: Amount
    sale_price: Amount
    change_percent: Amount
    profit_loss_sol: Amount
    profit_loss_usd: Amount | None
    purchase_time: datetime
    sale_time: datetime
    close_reason: str
    signal_id: int | None
    purchase_transaction_id: uuid.UUID
    sale_transaction_id: uuid.UUID


class TransactionOut(BaseModel):
    id: uuid.UUID
    agent_id: uuid.UUID
    agent_name: str
    wallet_address: str
    transaction_type: Literal["DEPOSIT", "WITHDRAWAL", "SWAP", "BURN", "ADJUSTMENT"]
    reason: str
    transaction_time: datetime
    input_mint: str | None
    input_symbol: str | None
    input_amount: Amount | None
    input_price: Amount | None
    output_mint: str | None
    output_symbol: str | None
    output_amount: Amount | None
    output_price: Amount | None
    protocol_fee_sol: Amount
    network_fee_sol: Amount
    price_impact: Amount | None
    transaction_hash: str | None
    signal_id: int | None
    is_dca: bool
    is_take_profit: bool


class TradesPage(BaseModel):
    items: list[TradeOut]
    next_cursor: str | None  # pass as ``cursor`` for the next (older) page; None: the last


class TransactionsPage(BaseModel):
    items: list[TransactionOut]
    next_cursor: str | None


class PerformanceOut(BaseModel):
    agent_id: uuid.UUID
    name: str
    since: datetime | None
    realized_pnl_sol: Amount
    unrealized_pnl_sol: Amount  # the priced open positions only
    unpriced_positions: list[str]  # open positions without a price: their unrealized unknown
    win_rate_percent: Amount
    average_return_percent: Amount
    closed_trades: int
    open_positions: int
    fees_paid_sol: Amount
    max_drawdown_percent: Amount


class SnapshotOut(BaseModel):
    snapshot_timestamp: datetime
    wallet_address: str
    sol_balance: Amount
    positions_value_sol: Amount
    unrealized_pnl_sol: Amount
    portfolio_balance_sol: Amount


class PriceOut(BaseModel):
    observed_at: datetime
    price_sol: Amount
    price_usd: Amount | None
    source: str
