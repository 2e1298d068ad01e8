"""An agent's wallet: one per trading mode (docs/rules.md §15 agent_wallets)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from domain.base58 import b58encode

SIMULATION_PREFIX = "sim_"


@dataclass(frozen=True)
class Wallet:
    wallet_address: str
    agent_id: uuid.UUID
    wallet_type: str  # "simulation" | "live"


def new_simulation_address(randbytes: bytes | None = None) -> str:
    """``sim_`` + base58 of 29 random bytes: at most 44 characters, never a real key."""
    raw = randbytes if randbytes is not None else secrets.token_bytes(29)
    return (SIMULATION_PREFIX + b58encode(raw))[:44]
