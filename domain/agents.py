"""Agents and the token metrics eligibility looks at."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

TradingMode = Literal["simulation", "live"]
TRADING_MODES: tuple[TradingMode, ...] = ("simulation", "live")


@dataclass(frozen=True, slots=True)
class Agent:
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    trading_mode: TradingMode = "simulation"
    automated_trading_simulation: bool = True
    automated_trading_live: bool = True
    archived_at: datetime | None = None  # retired by the operator: no signal reaches it

    @property
    def automation_on(self) -> bool:
        """The automated-trading flag of the agent's current mode."""
        if self.trading_mode == "live":
            return self.automated_trading_live
        return self.automated_trading_simulation


@dataclass(frozen=True, slots=True)
class TokenMetrics:
    """Market data for a token (USD); ``None`` means the feed did not have it."""

    market_cap: Decimal | None = None
    liquidity: Decimal | None = None
    holder_count: int | None = None
