"""Plain values the repositories hand back: stored signals and executions, API keys,
wallets to snapshot and stored snapshots. They live in the domain so that the ports in
``domain/ports.py`` can name them without knowing about persistence."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.performance import Snapshot
from domain.signals import Signal

# A trading config as JSON, as the operator gives it (docs/rules.md §13).
ConfigJson = dict[str, object]

# One agent's outcome in a bulk completion: (agent id, status, action, reason, transaction id).
ExecutionResult = tuple[uuid.UUID, str, str, str | None, uuid.UUID | None]

# A stop-loss change without a trade: (position id, peak price, stop-loss %).
StopChange = tuple[uuid.UUID, Decimal | None, Decimal | None]


@dataclass(frozen=True)
class StoredSignal:
    id: int
    signal: Signal
    status: str
    received_at: datetime


@dataclass(frozen=True)
class Execution:
    signal_id: int
    agent_id: uuid.UUID
    status: str
    action: str
    reason: str | None
    transaction_id: uuid.UUID | None
    executed_at: datetime


@dataclass(frozen=True)
class StoredKey:
    id: uuid.UUID
    user_id: uuid.UUID
    user_email: str
    name: str
    key_hash: str
    key_prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class WalletCash:
    """A wallet to snapshot and its SOL balance (0 when it has no SOL row)."""

    agent_id: uuid.UUID
    wallet_address: str
    sol_balance: Decimal


@dataclass(frozen=True)
class StoredSnapshot:
    agent_id: uuid.UUID
    wallet_address: str
    snapshot_timestamp: datetime
    snapshot: Snapshot


@dataclass(frozen=True)
class PriceQuote:
    """One observed price of a token, in SOL per token (USD optional)."""

    token_address: str
    price_sol: Decimal
    observed_at: datetime
    source: str
    price_usd: Decimal | None = None
