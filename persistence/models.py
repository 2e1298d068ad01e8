"""The schema (docs/rules.md §15): the single source of truth Alembic revisions come from."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
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


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = _uuid_pk()
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = _created_at()
    failed_login_attempts: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex, never the key
    key_prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    created_at: Mapped[datetime] = _created_at()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Agent(Base):
    __tablename__ = "agents"
    # A user's agents are told apart by name; the constraint's leading column doubles as the
    # foreign-key index on user_id.
    __table_args__ = (
        CheckConstraint("char_length(name) BETWEEN 3 AND 50", name="name_length"),
        UniqueConstraint("user_id", "name"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(50))
    trading_mode: Mapped[str] = mapped_column(TradingMode, server_default="simulation")
    automated_trading_simulation: Mapped[bool] = mapped_column(server_default=text("true"))
    automated_trading_live: Mapped[bool] = mapped_column(server_default=text("true"))
    # docs/rules.md §11: automated exits (stop loss, take profit, stale) keep running while
    # a mode's automation is paused unless the operator pauses them explicitly.
    exits_paused_simulation: Mapped[bool] = mapped_column(server_default=text("false"))
    exits_paused_live: Mapped[bool] = mapped_column(server_default=text("false"))
    trading_config: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    # Retired by the operator (no open positions then): no signal reaches it any more; its
    # history, ledger and balances stay readable.
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AgentWallet(Base):
    __tablename__ = "agent_wallets"
    # The unique constraints' leading columns double as the foreign-key indexes.
    __table_args__ = (UniqueConstraint("agent_id", "wallet_type"),)

    wallet_address: Mapped[str] = mapped_column(Address, primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE")
    )
    wallet_type: Mapped[str] = mapped_column(WalletType)


class AgentBalance(Base):
    __tablename__ = "agent_balances"
    __table_args__ = (
        UniqueConstraint("wallet_address", "token_address"),
        CheckConstraint("balance >= 0", name="balance_not_negative"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    wallet_address: Mapped[str] = mapped_column(
        ForeignKey("agent_wallets.wallet_address", ondelete="CASCADE")
    )
    token_address: Mapped[str] = mapped_column(Address, index=True)
    token_symbol: Mapped[str | None] = mapped_column(String(50))
    balance: Mapped[Decimal] = mapped_column(TokenNumeric, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class AgentBalanceSnapshot(Base):
    __tablename__ = "agent_balance_snapshots"
    __table_args__ = (UniqueConstraint("agent_id", "wallet_address", "snapshot_timestamp"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE")
    )
    wallet_address: Mapped[str] = mapped_column(
        ForeignKey("agent_wallets.wallet_address", ondelete="CASCADE"), index=True
    )
    snapshot_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    portfolio_balance_sol: Mapped[Decimal] = mapped_column(SolNumeric)
    sol_balance: Mapped[Decimal] = mapped_column(SolNumeric)
    positions_value_sol: Mapped[Decimal] = mapped_column(SolNumeric)
    unrealized_pnl_sol: Mapped[Decimal] = mapped_column(SolNumeric)


class TradingSignal(Base):
    __tablename__ = "trading_signals"
    __table_args__ = (
        CheckConstraint("signal_strength BETWEEN 1 AND 100", name="strength_range"),
        Index(None, "status", "received_at"),
        # Idempotency per channel and caller (README "Guarantees"): `http:<user id>`,
        # `stream` or `task`; the same key in another namespace is an unrelated signal.
        UniqueConstraint("idempotency_namespace", "idempotency_key"),
        CheckConstraint("amount_sol > 0", name="amount_sol_positive"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    token_address: Mapped[str] = mapped_column(Address, index=True)
    symbol: Mapped[str | None] = mapped_column(String(50))
    signal_type: Mapped[str] = mapped_column(String(50))
    signal_strength: Mapped[int] = mapped_column(SmallInteger)
    activation_reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(100))
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    idempotency_namespace: Mapped[str] = mapped_column(String(64))
    # A manual buy (`fleet trades buy`, docs/rules.md §3): the one agent it is for and the
    # SOL it spends (NULL: the agent's rules size it). Both NULL for a provider's signal.
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"))
    amount_sol: Mapped[Decimal | None] = mapped_column(SolNumeric)
    status: Mapped[str] = mapped_column(SignalStatus, server_default="pending")
    eligible_agents: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AgentTransaction(Base):
    __tablename__ = "agent_transactions"
    __table_args__ = (Index(None, "agent_id", "transaction_time"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    wallet_address: Mapped[str] = mapped_column(
        ForeignKey("agent_wallets.wallet_address", ondelete="CASCADE"), index=True
    )
    transaction_type: Mapped[str] = mapped_column(TransactionType)
    transaction_value_usd: Mapped[Decimal | None] = mapped_column(SolNumeric)
    transaction_time: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                      server_default=func.now())
    input_mint: Mapped[str | None] = mapped_column(Address, index=True)
    input_symbol: Mapped[str | None] = mapped_column(String(50))
    input_amount: Mapped[Decimal | None] = mapped_column(TokenNumeric)
    input_price: Mapped[Decimal | None] = mapped_column(TokenNumeric)
    output_mint: Mapped[str | None] = mapped_column(Address, index=True)
    output_symbol: Mapped[str | None] = mapped_column(String(50))
    output_amount: Mapped[Decimal | None] = mapped_column(TokenNumeric)
    output_price: Mapped[Decimal | None] = mapped_column(TokenNumeric)
    slippage: Mapped[Decimal | None] = mapped_column(TokenNumeric)  # fraction
    price_impact: Mapped[Decimal | None] = mapped_column(TokenNumeric)  # fraction
    protocol_fee_sol: Mapped[Decimal] = mapped_column(SolNumeric, server_default="0")
    network_fee_sol: Mapped[Decimal] = mapped_column(SolNumeric, server_default="0")
    transaction_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    swap_payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    routes: Mapped[list[Any] | None] = mapped_column(JSONB)
    signal_id: Mapped[int | None] = mapped_column(
        ForeignKey("trading_signals.id", ondelete="SET NULL"), index=True
    )
    is_dca: Mapped[bool] = mapped_column(server_default=text("false"), default=False)
    is_take_profit: Mapped[bool] = mapped_column(server_default=text("false"), default=False)
    # A row the wallet sync wrote (docs/rules.md §12): what the chain showed that the ledger
    # did not; NULL on every other row.
    adjustment: Mapped[str | None] = mapped_column(AdjustmentKind)
    created_at: Mapped[datetime] = _created_at()


class SignalExecution(Base):
    __tablename__ = "signal_executions"
    __table_args__ = (UniqueConstraint("signal_id", "agent_id"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    signal_id: Mapped[int] = mapped_column(
        ForeignKey("trading_signals.id", ondelete="CASCADE")
    )
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(ExecutionStatus)
    action: Mapped[str] = mapped_column(ExecutionAction)
    reason: Mapped[str | None] = mapped_column(String(64))
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agent_transactions.id", ondelete="SET NULL"), index=True
    )
    executed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class SignalTarget(Base):
    """An agent a dispatched signal was fanned out to (its eligibility decided then), kept
    until the signal is processed: an agent waits only for the earlier signals it is a
    target of (docs/rules.md §3 "Order per agent and token")."""

    __tablename__ = "signal_targets"

    signal_id: Mapped[int] = mapped_column(
        ForeignKey("trading_signals.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )


class AgentPosition(Base):
    __tablename__ = "agent_positions"
    __table_args__ = (UniqueConstraint("agent_id", "wallet_address", "token_address"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE")
    )
    wallet_address: Mapped[str] = mapped_column(
        ForeignKey("agent_wallets.wallet_address", ondelete="CASCADE"), index=True
    )
    token_address: Mapped[str] = mapped_column(Address, index=True)
    token_symbol: Mapped[str | None] = mapped_column(String(50))
    purchase_transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agent_transactions.id"), unique=True
    )
    purchase_price: Mapped[Decimal] = mapped_column(TokenNumeric)
    purchase_amount: Mapped[Decimal] = mapped_column(TokenNumeric)
    remaining_amount: Mapped[Decimal | None] = mapped_column(TokenNumeric)
    total_invested_sol: Mapped[Decimal] = mapped_column(SolNumeric)
    current_stop_loss_percentage: Mapped[Decimal | None] = mapped_column(PercentNumeric)
    peak_price: Mapped[Decimal | None] = mapped_column(TokenNumeric)
    last_stop_loss_update: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lowest_price: Mapped[Decimal | None] = mapped_column(TokenNumeric)
    dca_count: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    last_dca_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    take_profit_levels_hit: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    tp_batch_start_level: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    total_take_profit_levels: Mapped[int | None] = mapped_column(Integer)
    moon_bag_activated: Mapped[bool] = mapped_column(server_default=text("false"), default=False)
    moon_bag_amount: Mapped[Decimal | None] = mapped_column(TokenNumeric)
    realized_profit_sol: Mapped[Decimal] = mapped_column(SolNumeric, server_default="0")
    # Tokens that left the wallet without a swap (the wallet sync, docs/rules.md §12): the
    # position is flagged to the operator; NULL when none did.
    tokens_left: Mapped[Decimal | None] = mapped_column(TokenNumeric)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    # The quiet band (domain/bands.py) the sweep stored, valid only while band_version equals
    # version and band_basis the sweep's rules: a trigger (migration 0010) adds one to version
    # on every update that does not write the band, and on every change of the agent's
    # trading_config. Unconstrained NUMERIC: a rounded bound could fall on the wrong side.
    version: Mapped[int] = mapped_column(BigInteger, server_default="0", default=0)
    band_version: Mapped[int | None] = mapped_column(BigInteger)
    band_basis: Mapped[int | None] = mapped_column(BigInteger)
    band_low: Mapped[Decimal | None] = mapped_column(Numeric(asdecimal=True))
    band_high: Mapped[Decimal | None] = mapped_column(Numeric(asdecimal=True))
    band_peak: Mapped[Decimal | None] = mapped_column(Numeric(asdecimal=True))
    band_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    band_stale_low: Mapped[Decimal | None] = mapped_column(Numeric(asdecimal=True))
    band_stale_high: Mapped[Decimal | None] = mapped_column(Numeric(asdecimal=True))


class AgentHistoricalSwap(Base):
    __tablename__ = "agent_historical_swaps"

    id: Mapped[uuid.UUID] = _uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    wallet_address: Mapped[str] = mapped_column(
        ForeignKey("agent_wallets.wallet_address", ondelete="CASCADE"), index=True
    )
    token_address: Mapped[str] = mapped_column(Address, index=True)
    token_symbol: Mapped[str | None] = mapped_column(String(50))
    amount: Mapped[Decimal] = mapped_column(TokenNumeric)
    purchase_price: Mapped[Decimal] = mapped_column(TokenNumeric)
    sale_price: Mapped[Decimal] = mapped_column(TokenNumeric)
    change_percent: Mapped[Decimal] = mapped_column(PercentNumeric)
    profit_loss_sol: Mapped[Decimal] = mapped_column(SolNumeric)
    profit_loss_usd: Mapped[Decimal | None] = mapped_column(SolNumeric)
    purchase_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sale_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    purchase_transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agent_transactions.id"), index=True
    )
    sale_transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agent_transactions.id"), unique=True
    )
    signal_id: Mapped[int | None] = mapped_column(
        ForeignKey("trading_signals.id", ondelete="SET NULL"), index=True
    )
    close_reason: Mapped[str] = mapped_column(CloseReason)


class TokenPrice(Base):
    """Raw price history: one row per token per refresh, kept for the raw window
    (``SIGNALFLEET_PRICE_HISTORY_RAW_HOURS``), then folded into ``token_price_bars``."""

    __tablename__ = "token_prices"
    __table_args__ = (Index(None, "token_address", "observed_at"), Index(None, "observed_at"))

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    token_address: Mapped[str] = mapped_column(Address)
    price_sol: Mapped[Decimal] = mapped_column(TokenNumeric)
    price_usd: Mapped[Decimal | None] = mapped_column(TokenNumeric)
    source: Mapped[str] = mapped_column(String(32))
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TokenPriceBar(Base):
    """One minute of a token's price history older than the raw window: the raw rows of the
    minute folded into open/high/low/close (bounded growth, README "Price history")."""

    __tablename__ = "token_price_bars"

    token_address: Mapped[str] = mapped_column(Address, primary_key=True)
    minute: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    open_sol: Mapped[Decimal] = mapped_column(TokenNumeric)
    high_sol: Mapped[Decimal] = mapped_column(TokenNumeric)
    low_sol: Mapped[Decimal] = mapped_column(TokenNumeric)
    close_sol: Mapped[Decimal] = mapped_column(TokenNumeric)
    close_usd: Mapped[Decimal | None] = mapped_column(TokenNumeric)
    samples: Mapped[int] = mapped_column(Integer)


class SwapSubmission(Base):
    """One live swap, written before anything is sent (docs/rules.md §12): ``intent`` (claimed, not
    signed) → ``submitted`` (signature and last valid block height stored, then sent) →
    ``confirmed`` (the fill is in the ledger) / ``failed`` / ``expired``."""

    __tablename__ = "swap_submissions"
    __table_args__ = (
        Index(None, "status", "updated_at"),
        Index(None, "agent_id", "status"),
        CheckConstraint("amount_in > 0", name="amount_in_positive"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    wallet_address: Mapped[str] = mapped_column(
        ForeignKey("agent_wallets.wallet_address", ondelete="CASCADE"), index=True
    )
    signal_id: Mapped[int | None] = mapped_column(
        ForeignKey("trading_signals.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(SwapKind)
    close_reason: Mapped[str | None] = mapped_column(CloseReason)
    token_address: Mapped[str] = mapped_column(Address, index=True)
    token_symbol: Mapped[str | None] = mapped_column(String(50))
    side: Mapped[str] = mapped_column(SwapSide)
    amount_in: Mapped[Decimal] = mapped_column(TokenNumeric)  # SOL for a buy, tokens for a sell
    quote: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    signature: Mapped[str | None] = mapped_column(String(128), unique=True)
    signed_transaction: Mapped[str | None] = mapped_column(Text)  # base64, re-sent as is
    last_valid_block_height: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(SwapStatus, server_default="intent")
    error: Mapped[str | None] = mapped_column(String(200))
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agent_transactions.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
