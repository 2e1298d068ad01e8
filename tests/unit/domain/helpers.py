"""Builders for domain tests: brief positions and configs from camelCase overrides."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

from domain.config import TradingConfig
from domain.positions import Position

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
AGENT_ID = uuid.UUID("00000000-0000-0000-0000-0000000000a1")
USER_ID = uuid.UUID("00000000-0000-0000-0000-0000000000b1")
OTHER_USER_ID = uuid.UUID("00000000-0000-0000-0000-0000000000b2")
TOKEN = "So11111111111111111111111111111111111111112"
TOKEN_B = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def position(**changes: Any) -> Position:
    """A position of 1000 tokens bought at 0.001 SOL (1.0 SOL invested) at T0."""
    fields: dict[str, Any] = {
        "id": uuid.UUID(int=1),
        "agent_id": AGENT_ID,
        "wallet_address": "sim_wallet",
        "token_address": TOKEN,
        "purchase_transaction_id": uuid.UUID(int=2),
        "purchase_price": D("0.001"),
        "purchase_amount": D(1000),
        "total_invested_sol": D("1.0"),
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(changes)
    return Position(**fields)


def config(**sections: Any) -> TradingConfig:
    """A config from camelCase section overrides, e.g. ``config(dca={"enabled": True})``."""
    return TradingConfig.from_dict(sections)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
