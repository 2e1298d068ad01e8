"""DexScreenerPriceFeed: best SOL pair, unknown without one, metrics."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from domain.agents import TokenMetrics
from domain.errors import PermanentError, TransientError
from tests.unit.adapters.conftest import (
    BONK,
    JUP,
    SOL,
    T0,
    WIF,
    FixedClock,
    Sleeps,
    fake_mints,
    fixture_text,
    mock_client,
)
from workers.adapters.http import RetryPolicy
from workers.adapters.prices import DexScreenerPriceFeed

BASE = "https://api.dexscreener.com"


def feed(handler: Any, clock: FixedClock, policy: RetryPolicy) -> DexScreenerPriceFeed:
    return DexScreenerPriceFeed(mock_client(handler), clock, base_url=BASE, policy=policy)


def fixture_handler(seen: list[httpx.Request]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text=fixture_text("dexscreener_tokens.json"))
    return handler


def test_best_sol_pair_by_liquidity(clock: FixedClock, policy: RetryPolicy) -> None:
    seen: list[httpx.Request] = []
    prices = feed(fixture_handler(seen), clock, policy).get_prices([JUP, WIF, BONK])
    # meteora (1.85M) beats raydium (250k); the USDC pair (9M) and SOL/JUP are not candidates
    assert prices[JUP].price_sol == Decimal("0.004000")
    assert prices[JUP].price_usd == Decimal("0.6010")
    assert prices[JUP].observed_at == T0 and prices[JUP].source == "dexscreener"
    assert WIF not in prices  # only a USDC pair
    assert BONK not in prices  # no pair at all
    assert seen[0].url.path == f"/tokens/v1/solana/{JUP},{WIF},{BONK}"


def test_invalid_price_native_falls_back_to_next_pair(clock: FixedClock,
                                                      policy: RetryPolicy) -> None:
    pairs = [
        {"baseToken": {"address": JUP}, "quoteToken": {"address": SOL}, "priceNative": "-1",
         "liquidity": {"usd": 900}},
        {"baseToken": {"address": JUP}, "quoteToken": {"address": SOL}, "priceNative": "abc",
         "liquidity": {"usd": 800}},
        {"baseToken": {"address": JUP}, "quoteToken": {"address": SOL}, "priceNative": "0.002",
         "liquidity": {"usd": 10}},
        {"baseToken": {"address": JUP}, "quoteToken": {"address": SOL}, "priceNative": "0.003"},
        "garbage",
    ]
    with capture_logs() as logs:
        prices = feed(lambda r: httpx.Response(200, json=pairs), clock, policy).get_prices([JUP])
    assert prices[JUP].price_sol == Decimal("0.002") and prices[JUP].price_usd is None
    assert sum(e["event"] == "prices.invalid_price" for e in logs) == 2


def test_batches_of_30(clock: FixedClock, policy: RetryPolicy) -> None:
    mints = fake_mints(61)
    sizes = []

    def handler(request: httpx.Request) -> httpx.Response:
        sizes.append(len(request.url.path.rsplit("/", 1)[1].split(",")))
        return httpx.Response(200, json=[])

    assert feed(handler, clock, policy).get_prices(mints) == {}
    assert sizes == [30, 30, 1]


def test_metrics(clock: FixedClock, policy: RetryPolicy) -> None:
    metrics = feed(fixture_handler([]), clock, policy).get_metrics([JUP, WIF, BONK])
    # the most liquid pair of any quote (the 9M USDC pair) gives the market figures
    assert metrics[JUP] == TokenMetrics(market_cap=Decimal(1357000000),
                                        liquidity=Decimal(9000000), holder_count=None)
    assert isinstance(metrics[JUP].market_cap, Decimal)
    assert isinstance(metrics[JUP].liquidity, Decimal)
    assert metrics[WIF].market_cap == Decimal(1950000000)
    assert metrics[WIF].holder_count is None
    assert BONK not in metrics


def test_not_a_list_is_transient(clock: FixedClock, policy: RetryPolicy) -> None:
    with pytest.raises(TransientError):
        feed(lambda r: httpx.Response(200, json={"pairs": []}), clock, policy).get_prices([JUP])


def test_timeout_retried(clock: FixedClock, policy: RetryPolicy, sleeps: Sleeps) -> None:
    steps: list[object] = [httpx.ReadTimeout("slow"),
                           httpx.Response(200, text=fixture_text("dexscreener_tokens.json"))]

    def handler(request: httpx.Request) -> httpx.Response:
        step = steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step  # type: ignore[return-value]

    assert JUP in feed(handler, clock, policy).get_prices([JUP])
    assert len(sleeps) == 1


def test_400_not_retried(clock: FixedClock, policy: RetryPolicy, sleeps: Sleeps) -> None:
    with pytest.raises(PermanentError, match="HTTP 400"):
        feed(lambda r: httpx.Response(400), clock, policy).get_prices([JUP])
    assert sleeps == []
