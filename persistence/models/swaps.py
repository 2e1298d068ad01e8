"""Live swaps: each submission of a signed transaction and its outcome."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import (
    Address,
    Base,
    CloseReason,
    SwapKind,
    SwapSide,
    SwapStatus,
    TokenNumeric,
    _agent_id,
    _created_at,
    _uuid_pk,
    _wallet_address,
)


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
    agent_id: Mapped[uuid.UUID] = _agent_id()
    wallet_address: Mapped[str] = _wallet_address()
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
