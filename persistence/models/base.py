"""What every table shares: the declarative base with its naming convention, the money and
address column types (docs/rules.md §15) and the enumerations."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    DateTime,
    Enum,
    ForeignKey,
    MetaData,
    Numeric,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Column types with the exact precisions of docs/rules.md §15.
TokenNumeric = Numeric(30, 18, asdecimal=True)  # token prices and token amounts
SolNumeric = Numeric(20, 8, asdecimal=True)  # SOL and USD amounts
PercentNumeric = Numeric(12, 4, asdecimal=True)  # percentages
Address = String(44)  # base58 Solana public key


def _enum(name: str, *values: str) -> Enum:
    # VARCHAR + CHECK rather than a native enum: adding a value is a plain migration.
    return Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


TradingMode = _enum("trading_mode", "simulation", "live")
WalletType = _enum("wallet_type", "simulation", "live")
SignalStatus = _enum("signal_status", "pending", "dispatched", "processed", "failed")
ExecutionStatus = _enum("execution_status", "EXECUTED", "SKIPPED", "FAILED", "PENDING")
ExecutionAction = _enum("execution_action", "open", "dca", "close", "none")
TransactionType = _enum("transaction_type", "DEPOSIT", "WITHDRAWAL", "SWAP", "BURN", "ADJUSTMENT")
AdjustmentKind = _enum("adjustment_kind", "deposit", "withdrawal", "unexplained")
CloseReason = _enum(
    "close_reason", "stop_loss", "take_profit", "stale_trade", "signal", "manual", "burn"
)
SwapKind = _enum("swap_kind", "open", "dca", "close", "sell")
SwapSide = _enum("swap_side", "buy", "sell")
SwapStatus = _enum("swap_status", "intent", "submitted", "confirmed", "failed", "expired")


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4,
                         server_default=text("gen_random_uuid()"))


def _agent_id(*, index: bool = False) -> Mapped[uuid.UUID]:
    """The agent a row belongs to; the row goes with the agent (ON DELETE CASCADE)."""
    return mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=index)


def _wallet_address() -> Mapped[str]:
    """The agent wallet a row belongs to (indexed; ON DELETE CASCADE)."""
    return mapped_column(ForeignKey("agent_wallets.wallet_address", ondelete="CASCADE"),
                         index=True)


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
