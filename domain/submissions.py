"""A live swap's crash-safe record (docs/rules.md §12): written before anything is signed or sent.

``intent`` (the execution is claimed, nothing signed) → ``submitted`` (signature and last
valid block height stored and committed, then sent) → ``confirmed`` (the fill is in the
ledger), ``failed`` (an on-chain error, or refused before signing) or ``expired`` (the block
height passed the limit and the signature never landed). Each transition is guarded by the
status it leaves, so a fill is recorded at most once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

INTENT = "intent"
SUBMITTED = "submitted"
CONFIRMED = "confirmed"
FAILED = "failed"
EXPIRED = "expired"
IN_FLIGHT = (INTENT, SUBMITTED)

OPEN = "open"
DCA = "dca"
CLOSE = "close"
SELL = "sell"  # a partial sale (take profit), for the sweeps
BUY_KINDS = (OPEN, DCA)

# Execution reason codes of a live swap that did not fill.
SWAP_IN_PROGRESS = "swap_in_progress"
SWAP_FAILED = "swap_failed"
SWAP_EXPIRED = "swap_expired"
SWAP_REFUSED = "swap_refused"
NOT_SUBMITTED = "not_submitted"


@dataclass(frozen=True)
class SwapSubmission:
    agent_id: uuid.UUID
    wallet_address: str
    kind: str  # open / dca / close / sell
    token_address: str
    amount_in: Decimal  # SOL for a buy, tokens for a sell
    signal_id: int | None = None
    token_symbol: str | None = None
    close_reason: str | None = None
    quote: Mapping[str, Any] | None = None
    signature: str | None = None
    signed_transaction: str | None = None
    last_valid_block_height: int | None = None
    status: str = INTENT
    error: str | None = None
    transaction_id: uuid.UUID | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def side(self) -> str:
        return "buy" if self.kind in BUY_KINDS else "sell"

    @property
    def execution_action(self) -> str:
        """The ``signal_executions.action`` of this swap's kind."""
        return self.kind if self.kind in (OPEN, DCA, CLOSE) else "none"
