"""Trading signals, what each agent did with one, and the agents one targets."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import (
    Address,
    Base,
    ExecutionAction,
    ExecutionStatus,
    SignalStatus,
    SolNumeric,
    _agent_id,
    _uuid_pk,
)


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


class SignalExecution(Base):
    __tablename__ = "signal_executions"
    __table_args__ = (UniqueConstraint("signal_id", "agent_id"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    signal_id: Mapped[int] = mapped_column(
        ForeignKey("trading_signals.id", ondelete="CASCADE")
    )
    agent_id: Mapped[uuid.UUID] = _agent_id(index=True)
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
