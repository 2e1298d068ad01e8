"""Token prices: raw quotes and one-minute bars."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    DateTime,
    Identity,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import (
    Address,
    Base,
    TokenNumeric,
)


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
