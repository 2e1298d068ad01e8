"""Agents and the token metrics eligibility looks at."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from domain.config import StoredConfig

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
    # docs/rules.md §11: protective exits run while paused unless these say otherwise.
    exits_paused_simulation: bool = False
    exits_paused_live: bool = False

    @property
    def automation_on(self) -> bool:
        """The automated-trading flag of the agent's current mode."""
        if self.trading_mode == "live":
            return self.automated_trading_live
        return self.automated_trading_simulation

    def automation_in(self, mode: str) -> bool:
        """The automated-trading flag (entries and DCA) of ``mode``."""
        return self.automated_trading_live if mode == "live" else self.automated_trading_simulation

    def exits_paused_in(self, mode: str) -> bool:
        """Whether the operator paused the automated exits of ``mode`` too."""
        return self.exits_paused_live if mode == "live" else self.exits_paused_simulation


@dataclass(frozen=True, slots=True)
class TradingState:
    """What a sweep needs about an agent: its flags, its stored config and the mode of each
    of its wallets (a position trades in its own wallet's mode, whatever the agent's)."""

    agent: Agent
    config: StoredConfig
    wallet_modes: dict[str, TradingMode]

    def mode_of(self, wallet_address: str) -> TradingMode:
        return self.wallet_modes.get(wallet_address, self.agent.trading_mode)


@dataclass(frozen=True, slots=True)
class TokenMetrics:
    """Market data for a token (USD); ``None`` means the feed did not have it."""

    market_cap: Decimal | None = None
    liquidity: Decimal | None = None
    holder_count: int | None = None
