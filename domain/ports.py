"""The ports the use cases need, as Protocols (docs/architecture.md), plus the plain values
they carry.

The price feed, the swap executors, the live venue, the cache write-through, the task queue
and the clock are typed here; the repositories and the unit of work in
``domain/repositories.py``, re-exported here so a use case imports every port from one place.
``persistence`` and ``workers/adapters`` implement them (mypy checks the implementations against
these Protocols) and ``tests/fakes.py`` implements them in memory. Handlers see nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from domain.agents import TokenMetrics
from domain.positions import Position
from domain.records import PriceQuote
from domain.repositories import (
    Agents,
    ApiKeys,
    Balances,
    Bulk,
    Executions,
    History,
    LiveWallets,
    Positions,
    PriceHistory,
    Signals,
    Snapshots,
    Submissions,
    Transactions,
    UnitOfWork,
    UnitOfWorkFactory,
    Users,
    Wallets,
)
from domain.submissions import SwapSubmission
from domain.wallet_sync import ChainBalances

# The public names: the ports defined here, and the repositories and unit of work
# (domain/repositories.py) and the price quote (domain/records.py), named here beside them.
__all__ = [
    "Agents",
    "ApiKeys",
    "Balances",
    "Bulk",
    "CacheWriter",
    "Clock",
    "Executions",
    "Fill",
    "History",
    "JsonObject",
    "LiveVenue",
    "LiveWallets",
    "MetricsSource",
    "Positions",
    "PriceFeed",
    "PriceHistory",
    "PriceQuote",
    "Signals",
    "SignedSwap",
    "Snapshots",
    "Submissions",
    "SwapExecutor",
    "SwapQuote",
    "SwapStatus",
    "TaskQueue",
    "Transactions",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "Users",
    "Wallets",
]

JsonObject = Mapping[str, object]


@dataclass(frozen=True)
class Fill:
    """What a swap did. ``sol_amount`` is the SOL swapped (fees excluded); fees are separate."""

    sol_amount: Decimal
    token_amount: Decimal
    protocol_fee_sol: Decimal = Decimal("0")
    network_fee_sol: Decimal = Decimal("0")
    price_impact: Decimal = Decimal("0")
    slippage: Decimal = Decimal("0")
    transaction_hash: str | None = None
    swap_payload: JsonObject | None = None
    routes: Sequence[JsonObject] | None = field(default=None)

    @property
    def fees_sol(self) -> Decimal:
        return self.protocol_fee_sol + self.network_fee_sol


# --- market data and execution ------------------------------------------------------------

class PriceFeed(Protocol):
    """Latest prices for tokens; a token without a reliable price is absent, never zero."""

    def get_prices(self, token_addresses: Sequence[str]) -> dict[str, PriceQuote]: ...


class MetricsSource(Protocol):
    """Market data for eligibility bounds; a metric the source lacks is None, never zero."""

    def metrics_for(self, token_address: str) -> TokenMetrics | None: ...


class SwapExecutor(Protocol):
    """Fills a simulated swap on paper at the quote (live swaps go through ``LiveVenue``)."""

    def price_impact(self, token_address: str, sol_amount: Decimal, price: PriceQuote) -> Decimal:
        """The quote's price impact (a fraction) for buying ``sol_amount`` of the token."""
        ...

    def buy(self, wallet_address: str, token_address: str, sol_amount: Decimal,
            price: PriceQuote) -> Fill: ...

    def sell(self, wallet_address: str, token_address: str, token_amount: Decimal,
             price: PriceQuote) -> Fill: ...


@dataclass(frozen=True)
class SwapQuote:
    """A venue's quote: amounts in base units, ``price_impact`` a fraction, ``raw`` the
    quote as received (stored with the swap and sent back to build it)."""

    input_mint: str
    output_mint: str
    in_amount: int
    out_amount: int
    price_impact: Decimal
    raw: JsonObject


@dataclass(frozen=True)
class SignedSwap:
    """Signed transaction bytes, their signature and the last block height they can land."""

    signature: str
    raw: bytes
    last_valid_block_height: int


@dataclass(frozen=True)
class SwapStatus:
    landed: bool  # confirmed or finalized
    failed: bool  # landed with an on-chain error (the network fee was paid)
    error: str | None = None


class LiveVenue(Protocol):
    """Live swaps on chain: quote, build and sign (only what the intent meant), send, and
    read the outcome back as domain values."""

    def has_key(self, wallet_address: str) -> bool: ...

    def quote(self, input_mint: str, output_mint: str, amount_base_units: int,
              slippage_bps: int) -> SwapQuote: ...

    def sign_swap(self, quote: SwapQuote, wallet_address: str,
                  max_priority_lamports: int) -> SignedSwap: ...

    def token_decimals(self, mint: str) -> int: ...

    def send(self, raw: bytes) -> None: ...

    def block_height(self) -> int: ...

    def status(self, signature: str) -> SwapStatus | None: ...

    def network_fee(self, signature: str) -> Decimal | None:
        """The fee a landed transaction paid; None while the node does not serve it."""
        ...

    def fill(self, sub: SwapSubmission) -> Fill | None:
        """The confirmed amounts of a landed submission; None while not served yet."""
        ...

    def wallet_balances(self, wallet_address: str) -> ChainBalances:
        """What the chain holds for a wallet (confirmed): native SOL and every SPL Token and
        Token-2022 balance. Needs no key: any wallet's balances are public."""
        ...


class TaskQueue(Protocol):
    """The work queue (Celery): follow-up work is enqueued only after a commit."""

    def fan_out(self, signal_ids: Sequence[int]) -> None: ...

    def execute(self, signal_id: int, agent_ids: Sequence[uuid.UUID], attempt: int = 0,
                delay_s: float = 0.0) -> None:
        """``attempt`` > 0: agents waiting for their turn, looked at again after ``delay_s``."""
        ...

    def run_live(self, submission_id: uuid.UUID) -> None: ...

    def sweep_tokens(self, token_addresses: Sequence[str]) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class CacheWriter(Protocol):
    """The Redis write-through, called from after-commit hooks only."""

    def write(self, *, balances: Mapping[str, Mapping[str, Decimal]] | None = None,
              positions: Iterable[Position] = (),
              closed: Iterable[tuple[uuid.UUID, str]] = ()) -> None: ...

    def write_prices(self, quotes: Iterable[PriceQuote]) -> None: ...

    def latest_prices(self, tokens: Iterable[str]) -> dict[str, PriceQuote]: ...
