"""The ports the use cases need, as Protocols, and the plain values they carry
(docs/architecture.md).

Adapters in ``workers/adapters`` and ``persistence`` implement them; tests use fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol


@dataclass(frozen=True)
class PriceQuote:
    """One observed price of a token, in SOL per token (USD optional)."""

    token_address: str
    price_sol: Decimal
    observed_at: datetime
    source: str
    price_usd: Decimal | None = None


class PriceFeed(Protocol):
    """Latest prices for tokens; a token without a reliable price is absent, never zero."""

    def get_prices(self, token_addresses: Sequence[str]) -> dict[str, PriceQuote]: ...


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
    swap_payload: Mapping[str, Any] | None = None
    routes: Sequence[Mapping[str, Any]] | None = field(default=None)

    @property
    def fees_sol(self) -> Decimal:
        return self.protocol_fee_sol + self.network_fee_sol


class SwapExecutor(Protocol):
    """Buys and sells tokens for SOL; simulation fills on paper, live goes through Jupiter."""

    def price_impact(self, token_address: str, sol_amount: Decimal, price: PriceQuote) -> Decimal:
        """The quote's price impact (a fraction) for buying ``sol_amount`` of the token."""
        ...

    def buy(self, wallet_address: str, token_address: str, sol_amount: Decimal,
            price: PriceQuote) -> Fill: ...

    def sell(self, wallet_address: str, token_address: str, token_amount: Decimal,
             price: PriceQuote) -> Fill: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class UnitOfWork(Protocol):
    """One database transaction with its repositories (see persistence.unit_of_work).

    Repositories are typed loosely here so the domain stays free of persistence types; the
    concrete class is checked under ``mypy --strict`` in persistence/.
    """

    users: Any
    agents: Any
    wallets: Any
    balances: Any
    transactions: Any
    positions: Any
    history: Any
    signals: Any
    executions: Any
    bulk: Any
    prices: Any
    snapshots: Any
    submissions: Any
    live_wallets: Any
    api_keys: Any

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def after_commit(self, hook: Callable[[], None]) -> None: ...

    def savepoint(self) -> AbstractContextManager[None]: ...
