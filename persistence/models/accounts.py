"""Users and their API keys, agents, their wallets, balances and balance snapshots."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import (
    Address,
    Base,
    SolNumeric,
    TokenNumeric,
    TradingMode,
    WalletType,
    _agent_id,
    _created_at,
    _uuid_pk,
    _wallet_address,
)


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
    agent_id: Mapped[uuid.UUID] = _agent_id()
    wallet_type: Mapped[str] = mapped_column(WalletType)


class AgentBalance(Base):
    __tablename__ = "agent_balances"
    __table_args__ = (
        UniqueConstraint("wallet_address", "token_address"),
        CheckConstraint("balance >= 0", name="balance_not_negative"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    agent_id: Mapped[uuid.UUID] = _agent_id(index=True)
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
    agent_id: Mapped[uuid.UUID] = _agent_id()
    wallet_address: Mapped[str] = _wallet_address()
    snapshot_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    portfolio_balance_sol: Mapped[Decimal] = mapped_column(SolNumeric)
    sol_balance: Mapped[Decimal] = mapped_column(SolNumeric)
    positions_value_sol: Mapped[Decimal] = mapped_column(SolNumeric)
    unrealized_pnl_sol: Mapped[Decimal] = mapped_column(SolNumeric)
