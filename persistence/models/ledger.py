"""The ledger: transactions, open positions and closed trades."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import (
    Address,
    AdjustmentKind,
    Base,
    CloseReason,
    PercentNumeric,
    SolNumeric,
    TokenNumeric,
    TransactionType,
    _agent_id,
    _created_at,
    _uuid_pk,
    _wallet_address,
)


class AgentTransaction(Base):
    __tablename__ = "agent_transactions"
    __table_args__ = (Index(None, "agent_id", "transaction_time"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    agent_id: Mapped[uuid.UUID] = _agent_id()
    wallet_address: Mapped[str] = _wallet_address()
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


class AgentPosition(Base):
    __tablename__ = "agent_positions"
    __table_args__ = (UniqueConstraint("agent_id", "wallet_address", "token_address"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    agent_id: Mapped[uuid.UUID] = _agent_id()
    wallet_address: Mapped[str] = _wallet_address()
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
    agent_id: Mapped[uuid.UUID] = _agent_id(index=True)
    wallet_address: Mapped[str] = _wallet_address()
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
