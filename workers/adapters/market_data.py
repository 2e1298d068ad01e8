"""Market data for eligibility (docs/rules.md §2): holder count, market cap and
liquidity (USD) per mint, from Jupiter's Tokens API v2 or DexScreener.

Jupiter: ``GET {url}/search?query=a,b,…`` (≤ 100 mints per request, header ``x-api-key``)
answers a JSON array of tokens keyed by ``id``; ``holderCount``, ``mcap`` and ``liquidity``
may each be absent or null, which means unknown (never zero). A malformed value is unknown
too, and logged; a body that is not an array is a ``TransientError`` (an upstream glitch).
DexScreener has no holder count, so a holder bound needs the Jupiter source.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

import httpx
import structlog
from pydantic import SecretStr

from domain.agents import TokenMetrics
from domain.errors import TransientError
from workers.adapters.http import (
    RetryingHttp,
    RetryPolicy,
    api_key_headers,
    as_secret,
    chunks,
    positive_decimal,
    to_decimal,
    unique_addresses,
)
from workers.adapters.prices import DexScreenerPriceFeed
from workers.settings import Settings

log = structlog.get_logger(__name__)


class MetricsSource(Protocol):
    """Metrics of each mint it knows; a mint it does not know is absent."""

    def get_metrics(self, token_addresses: Sequence[str]) -> dict[str, TokenMetrics]: ...


def _holder_count(value: Any) -> int | None:
    number = to_decimal(value)
    if number is None or number < 0 or number != number.to_integral_value():
        return None
    return int(number)


def _liquidity(value: Any) -> Decimal | None:
    number = to_decimal(value)
    return number if number is not None and number >= 0 else None


class JupiterTokensMetrics:
    """Jupiter Tokens API v2 (``url`` ends in ``/tokens/v2``)."""

    source = "jupiter.tokens"

    def __init__(self, client: httpx.Client, *, url: str = "https://api.jup.ag/tokens/v2",
                 api_key: SecretStr | str | None = None, policy: RetryPolicy | None = None,
                 batch_size: int = 100) -> None:
        if not 1 <= batch_size <= 100:
            raise ValueError("batch_size must be within 1..100")
        self._http = RetryingHttp(client, self.source, policy)
        self._url = url.rstrip("/")
        self._api_key = as_secret(api_key)
        self._batch_size = batch_size

    def __repr__(self) -> str:
        return "JupiterTokensMetrics()"

    def get_metrics(self, token_addresses: Sequence[str]) -> dict[str, TokenMetrics]:
        mints = unique_addresses(token_addresses, self.source)
        result: dict[str, TokenMetrics] = {}
        for batch in chunks(mints, self._batch_size):
            body = self._http.get_json(f"{self._url}/search", operation="tokens.v2",
                                       params={"query": ",".join(batch)},
                                       headers=api_key_headers(self._api_key))
            if not isinstance(body, list):
                raise TransientError("jupiter.tokens tokens.v2: unexpected response shape")
            wanted = set(batch)
            for token in body:
                mint = token.get("id") if isinstance(token, dict) else None
                if mint in wanted:
                    result[mint] = self._metrics(mint, token)
        return result

    def _metrics(self, mint: str, token: dict[str, Any]) -> TokenMetrics:
        metrics = TokenMetrics(market_cap=positive_decimal(token.get("mcap")),
                               liquidity=_liquidity(token.get("liquidity")),
                               holder_count=_holder_count(token.get("holderCount")))
        for name, raw, parsed in (("mcap", token.get("mcap"), metrics.market_cap),
                                  ("liquidity", token.get("liquidity"), metrics.liquidity),
                                  ("holderCount", token.get("holderCount"),
                                   metrics.holder_count)):
            if raw is not None and parsed is None:
                log.warning("market_data.invalid_metric", source=self.source, token=mint,
                            field=name, value=str(raw)[:40])
        return metrics


def make_metrics_source(settings: Settings, http: httpx.Client,
                        policy: RetryPolicy | None) -> MetricsSource | None:
    """The metrics source ``SIGNALFLEET_METRICS_SOURCE`` names: ``jupiter`` (Tokens API v2),
    ``dexscreener`` (no holder count), ``none``, or ``auto`` — Jupiter when an API key is
    set, else DexScreener when the price feed is a live one, else none (an offline feed —
    static, replay — has no market: nothing is asked of a host nobody configured)."""
    choice = settings.metrics_source
    if choice == "auto":
        choice = "jupiter" if settings.jupiter_api_key is not None else (
            "dexscreener" if settings.price_feed in ("jupiter", "dexscreener") else "none")
    if choice == "jupiter":
        return JupiterTokensMetrics(http, url=settings.jupiter_tokens_url,
                                    api_key=settings.jupiter_api_key, policy=policy)
    if choice == "dexscreener":
        return _DexScreenerMetrics(http, settings.dexscreener_url, policy)
    return None


class _DexScreenerMetrics:
    """DexScreener's pairs as a metrics source (the price feed's clock is not used)."""

    def __init__(self, http: httpx.Client, base_url: str, policy: RetryPolicy | None) -> None:
        self._feed = DexScreenerPriceFeed(http, UtcClock(), base_url=base_url, policy=policy)

    def __repr__(self) -> str:
        return "DexScreenerMetrics()"

    def get_metrics(self, token_addresses: Sequence[str]) -> dict[str, TokenMetrics]:
        return self._feed.get_metrics(token_addresses)


class UtcClock:
    """The wall clock, for adapters whose clock only stamps observations."""

    def now(self) -> datetime:
        return datetime.now(UTC)
