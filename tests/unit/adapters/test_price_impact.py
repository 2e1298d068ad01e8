"""Simulated price impact from real market data: a Jupiter quote (and the depth it implies
for other sizes), or the SOL reserve of the token's pool on DexScreener — and the
``maxPriceImpact`` rule firing on it in simulation."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from domain import sizing
from domain.errors import TransientError
from tests.unit.adapters.conftest import (
    BONK,
    JUP,
    SOL,
    FixedClock,
    fixture_text,
    load_fixture,
    mock_client,
)
from tests.unit.domain.helpers import config
from workers.adapters.http import RetryPolicy
from workers.adapters.jupiter import JupiterClient
from workers.adapters.paper import PaperSwapExecutor
from workers.adapters.price_impact import (
    PoolImpact,
    QuoteImpact,
    constant_product_impact,
    make_impact_model,
)
from workers.adapters.prices import DexScreenerPriceFeed
from workers.settings import Settings


class Ticker:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def jupiter(impacts: dict[int, str], seen: list[httpx.Request],
            policy: RetryPolicy) -> JupiterClient:
    """Quotes for SOL → JUP whose ``priceImpactPct`` depends on the amount asked."""
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        amount = int(request.url.params["amount"])
        if amount not in impacts:
            return httpx.Response(400, json={"errorCode": "COULD_NOT_FIND_ANY_ROUTE"})
        body: dict[str, Any] = load_fixture("jupiter_quote.json")
        body.update(inAmount=str(amount), priceImpactPct=impacts[amount])
        return httpx.Response(200, text=json.dumps(body, default=str))
    return JupiterClient(mock_client(handler), api_key="k", policy=policy)


def test_constant_product_impact() -> None:
    assert constant_product_impact(Decimal(1), Decimal(99)) == Decimal("0.01")
    assert constant_product_impact(Decimal(1), Decimal(2)) == Decimal(
        "0.333333333333333334")  # rounded up: against the wallet


def test_a_real_quote_measures_the_size_and_implies_the_depth_for_others(
        policy: RetryPolicy) -> None:
    seen: list[httpx.Request] = []
    ticker = Ticker()
    model = QuoteImpact(jupiter({10**9: "0.01"}, seen, policy), ttl_s=30, monotonic=ticker)
    assert model.impact(JUP, Decimal(1)) == Decimal("0.01")  # the quote's own figure
    assert model.impact(JUP, Decimal(3)) == Decimal("0.029411764705882353")  # 3 / (99 + 3)
    assert len(seen) == 1 and seen[0].url.params["outputMint"] == JUP
    ticker.t = 31  # the depth is stale: quote again
    assert model.impact(JUP, Decimal(1)) == Decimal("0.01") and len(seen) == 2


def test_no_route_is_unknown_and_no_impact_is_deep(policy: RetryPolicy) -> None:
    seen: list[httpx.Request] = []
    assert QuoteImpact(jupiter({}, seen, policy)).impact(JUP, Decimal(1)) is None
    deep = QuoteImpact(jupiter({10**9: "0"}, seen, policy))
    assert deep.impact(JUP, Decimal(1)) == 0 and deep.impact(JUP, Decimal(500)) == 0


def test_the_pool_reserve_comes_from_the_most_liquid_sol_pair(
        policy: RetryPolicy, clock: FixedClock) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text=fixture_text("dexscreener_tokens.json"))

    feed = DexScreenerPriceFeed(mock_client(handler), clock, policy=policy)
    assert feed.sol_reserves([JUP, BONK]) == {JUP: Decimal("6150.2")}  # meteora, not orca
    ticker = Ticker()
    model = PoolImpact(feed, ttl_s=30, monotonic=ticker)
    model.prefetch([JUP, BONK])
    assert model.impact(JUP, Decimal("61.502")) == Decimal("0.009900990099009901")
    assert model.impact(BONK, Decimal(1)) is None  # no SOL pair: unknown
    assert len(seen) == 2  # one for sol_reserves, one prefetch for both tokens
    ticker.t = 30
    model.impact(JUP, Decimal(1))
    assert len(seen) == 3


def test_the_impact_limit_fires_in_simulation() -> None:
    class Pools:
        def sol_reserves(self, tokens: list[str]) -> dict[str, Decimal]:
            return {JUP: Decimal(10), BONK: Decimal(100)}

    executor = PaperSwapExecutor(impact=PoolImpact(Pools()))
    limited = config(purchaseLimits={"maxPriceImpact": "0.05"})

    def first_acceptable(token: str) -> Decimal | None:
        return next((size for size in sizing.impact_retry_sizes(Decimal(1))
                     if sizing.impact_acceptable(executor.price_impact(token, size, None),
                                                 limited)), None)  # type: ignore[arg-type]

    assert first_acceptable(JUP) is None  # 1 SOL into 10 SOL: 9 %, and 6.5 % at 70 %
    assert first_acceptable(BONK) == Decimal(1)  # 1 SOL into 100 SOL: under 1 %


@pytest.mark.parametrize(("values", "kind"), [
    ({"jupiter_api_key": SecretStr("k")}, "QuoteImpact"),
    ({"price_feed": "dexscreener"}, "PoolImpact"),
    ({"price_feed": "jupiter"}, "PoolImpact"),
    ({"price_feed": "static"}, "NoneType"),
    ({"price_feed": "replay", "replay_file": "x.jsonl"}, "NoneType"),
    ({"price_impact_source": "dexscreener"}, "PoolImpact"),
    ({"price_impact_source": "none", "jupiter_api_key": SecretStr("k")}, "NoneType"),
])
def test_the_factory_picks_the_model(values: dict[str, Any], kind: str,
                                     policy: RetryPolicy) -> None:
    explicit = {"price_feed": "static", "jupiter_api_key": None, "price_impact_source": "auto",
                **values}  # the machine's environment does not choose for the test
    settings = Settings(_env_file=None, **explicit)  # type: ignore[call-arg]
    assert type(make_impact_model(settings, httpx.Client(), policy)).__name__ == kind


def test_a_feed_outage_is_transient(policy: RetryPolicy, clock: FixedClock) -> None:
    feed = DexScreenerPriceFeed(mock_client(lambda r: httpx.Response(503)), clock,
                                policy=policy)
    with pytest.raises(TransientError):
        PoolImpact(feed).impact(JUP, Decimal(1))
    assert SOL not in feed.sol_reserves([])
