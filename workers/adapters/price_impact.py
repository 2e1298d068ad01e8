"""Simulated price impact (docs/rules.md §5) from real market data,
never a made-up depth.

- :class:`QuoteImpact` — a real Jupiter quote (SOL → token) at the size asked. Within the TTL
  the same token's other sizes use the constant-product depth that quote implies
  (``x = Δ·(1 − p)/p``), so a fan-out over many agents costs one quote per token, not one
  per agent.
- :class:`PoolImpact` — the SOL reserve of the token's most liquid SOL pair (DexScreener
  ``liquidity.quote``), one request per token per TTL.

Both give the constant-product impact of swapping ``Δ`` SOL (or its worth of tokens) against
a SOL reserve ``x``: ``Δ / (x + Δ)``, a fraction rounded up. ``None`` means unknown (no
route, no SOL pair). Fetch failures raise ``TransientError``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from decimal import ROUND_UP, Decimal, localcontext
from typing import Protocol

import httpx

from domain.errors import PermanentError
from domain.money import CONTEXT, lamports
from workers.adapters.http import SOL_MINT, RetryPolicy
from workers.adapters.jupiter import JupiterClient, JupiterQuote
from workers.adapters.market_data import UtcClock
from workers.adapters.prices import DexScreenerPriceFeed
from workers.settings import Settings

FRACTION_SCALE = Decimal("1e-18")
DEEP = Decimal(-1)  # a quote with no measurable impact: the pool is deep for these sizes


class PriceImpactModel(Protocol):
    def impact(self, token_address: str, sol_amount: Decimal) -> Decimal | None: ...


class QuoteSource(Protocol):
    def quote(self, input_mint: str, output_mint: str, amount_base_units: int,
              slippage_bps: int) -> JupiterQuote: ...


class ReserveSource(Protocol):
    def sol_reserves(self, token_addresses: Sequence[str]) -> dict[str, Decimal]: ...


def constant_product_impact(sol_amount: Decimal, sol_reserve: Decimal) -> Decimal:
    """``Δ / (x + Δ)``: how far the fill falls short of the spot price, as a fraction."""
    with localcontext(CONTEXT):
        return (sol_amount / (sol_reserve + sol_amount)).quantize(FRACTION_SCALE,
                                                                  rounding=ROUND_UP)


class _TtlCache:
    """token → SOL reserve (or DEEP, or None for unknown), each for ``ttl_s`` seconds."""

    def __init__(self, ttl_s: float, monotonic: Callable[[], float]) -> None:
        self._ttl, self._monotonic = ttl_s, monotonic
        self._entries: dict[str, tuple[float, Decimal | None]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> tuple[bool, Decimal | None]:
        with self._lock:
            entry = self._entries.get(token)
        if entry is None or entry[0] <= self._monotonic():
            return False, None
        return True, entry[1]

    def put(self, token: str, reserve: Decimal | None) -> None:
        with self._lock:
            self._entries[token] = (self._monotonic() + self._ttl, reserve)


def _impact(sol_amount: Decimal, reserve: Decimal | None) -> Decimal | None:
    if reserve is None:
        return None
    return Decimal(0) if reserve == DEEP else constant_product_impact(sol_amount, reserve)


class QuoteImpact:
    def __init__(self, quotes: QuoteSource, *, slippage_bps: int = 50, ttl_s: float = 30.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._quotes = quotes
        self._slippage_bps = slippage_bps
        self._cache = _TtlCache(ttl_s, monotonic)

    def __repr__(self) -> str:
        return "QuoteImpact()"

    def impact(self, token_address: str, sol_amount: Decimal) -> Decimal | None:
        known, reserve = self._cache.get(token_address)
        if not known:
            reserve = self._implied_reserve(token_address, sol_amount)
            self._cache.put(token_address, reserve)
        return _impact(sol_amount, reserve)

    def _implied_reserve(self, token: str, sol_amount: Decimal) -> Decimal | None:
        try:
            quote = self._quotes.quote(SOL_MINT, token, lamports(sol_amount),
                                       self._slippage_bps)
        except PermanentError:  # no route (400), or an answer that is not for this swap
            return None
        p = abs(quote.price_impact)
        if p == 0:
            return DEEP
        with localcontext(CONTEXT):
            return Decimal(0) if p >= 1 else sol_amount * (1 - p) / p


class PoolImpact:
    def __init__(self, pools: ReserveSource, *, ttl_s: float = 30.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._pools = pools
        self._cache = _TtlCache(ttl_s, monotonic)

    def __repr__(self) -> str:
        return "PoolImpact()"

    def prefetch(self, token_addresses: Sequence[str]) -> None:
        """Read the reserves of several tokens in one request (before a transaction opens)."""
        missing = [t for t in dict.fromkeys(token_addresses) if not self._cache.get(t)[0]]
        if missing:
            found = self._pools.sol_reserves(missing)
            for token in missing:
                self._cache.put(token, found.get(token))

    def impact(self, token_address: str, sol_amount: Decimal) -> Decimal | None:
        self.prefetch([token_address])
        return _impact(sol_amount, self._cache.get(token_address)[1])


def make_impact_model(settings: Settings, http: httpx.Client,
                      policy: RetryPolicy | None) -> PriceImpactModel | None:
    """The model ``SIGNALFLEET_PRICE_IMPACT_SOURCE`` names: ``jupiter`` (quotes),
    ``dexscreener`` (pool reserves), ``none``, or ``auto`` — Jupiter when an API key is set,
    else DexScreener when the price feed is a live one, else none (offline feeds have no
    market to measure: simulated fills then report no impact)."""
    choice = settings.price_impact_source
    if choice == "auto":
        choice = "jupiter" if settings.jupiter_api_key is not None else (
            "dexscreener" if settings.price_feed in ("jupiter", "dexscreener") else "none")
    ttl = settings.market_data_ttl_seconds
    if choice == "jupiter":
        client = JupiterClient(http, base_url=settings.jupiter_swap_url,
                               api_key=settings.jupiter_api_key, policy=policy)
        return QuoteImpact(client, slippage_bps=settings.slippage_bps, ttl_s=ttl)
    if choice == "dexscreener":
        feed = DexScreenerPriceFeed(http, UtcClock(), base_url=settings.dexscreener_url,
                                    policy=policy)
        return PoolImpact(feed, ttl_s=ttl)
    return None
