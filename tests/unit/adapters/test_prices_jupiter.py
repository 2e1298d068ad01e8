"""JupiterPriceFeed against recorded-shape Price v3 responses."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

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
from workers.adapters.prices import JupiterPriceFeed

URL = "https://api.jup.ag/price/v3"


def feed(handler: Any, clock: FixedClock, policy: RetryPolicy,
         api_key: str | None = None) -> JupiterPriceFeed:
    return JupiterPriceFeed(mock_client(handler), clock, url=URL, policy=policy, api_key=api_key)


def fixture_handler(seen: list[httpx.Request]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text=fixture_text("jupiter_price_v3.json"))
    return handler


def test_prices_in_sol_from_usd(clock: FixedClock, policy: RetryPolicy) -> None:
    seen: list[httpx.Request] = []
    prices = feed(fixture_handler(seen), clock, policy, api_key="k-123").get_prices([JUP, BONK])
    assert prices[JUP].price_sol == Decimal("0.004")
    assert prices[JUP].price_usd == Decimal("0.601")
    assert prices[BONK].price_sol == Decimal("1E-7")
    assert all(isinstance(q.price_sol, Decimal) for q in prices.values())
    assert prices[JUP].observed_at == T0 and prices[JUP].source == "jupiter"
    assert seen[0].url.params["ids"] == f"{JUP},{BONK},{SOL}"
    assert seen[0].headers["x-api-key"] == "k-123"
    assert SOL not in prices  # not asked for


def test_absent_token_has_no_price(clock: FixedClock, policy: RetryPolicy) -> None:
    prices = feed(fixture_handler([]), clock, policy).get_prices([JUP, WIF])
    assert set(prices) == {JUP}


def test_no_api_key_sends_no_header(clock: FixedClock, policy: RetryPolicy) -> None:
    seen: list[httpx.Request] = []
    feed(fixture_handler(seen), clock, policy).get_prices([JUP])
    assert "x-api-key" not in seen[0].headers


def test_sol_itself_is_one(clock: FixedClock, policy: RetryPolicy) -> None:
    prices = feed(fixture_handler([]), clock, policy).get_prices([SOL])
    assert prices[SOL].price_sol == 1 and prices[SOL].price_usd == Decimal("150.25")


def test_batches_of_at_most_50_ids_each_with_sol(clock: FixedClock, policy: RetryPolicy) -> None:
    mints = fake_mints(120)
    seen: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids = request.url.params["ids"].split(",")
        seen.append(ids)
        body = {m: {"usdPrice": 2} for m in ids if m != SOL}
        body[SOL] = {"usdPrice": 100}
        return httpx.Response(200, json=body)

    prices = feed(handler, clock, policy).get_prices(mints)
    assert [len(ids) for ids in seen] == [50, 50, 23]
    assert all(ids[-1] == SOL for ids in seen)
    assert len(prices) == 120 and prices[mints[0]].price_sol == Decimal("0.02")


def test_duplicates_and_malformed_addresses_dropped(clock: FixedClock,
                                                    policy: RetryPolicy) -> None:
    seen: list[httpx.Request] = []
    with capture_logs() as logs:
        prices = feed(fixture_handler(seen), clock, policy).get_prices([JUP, JUP, "not,a mint"])
    assert set(prices) == {JUP}
    assert seen[0].url.params["ids"] == f"{JUP},{SOL}"
    assert any(entry["event"] == "prices.bad_address" for entry in logs)


def test_empty_request_makes_no_call(clock: FixedClock, policy: RetryPolicy) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")
    assert feed(handler, clock, policy).get_prices([]) == {}


@pytest.mark.parametrize("bad", [-1, 0, "abc", None, "NaN", True, [1]])
def test_garbage_or_non_positive_price_is_no_price(clock: FixedClock, policy: RetryPolicy,
                                                   bad: object) -> None:
    body = json.dumps({SOL: {"usdPrice": 150}, JUP: {"usdPrice": bad}, BONK: {"usdPrice": 3}})

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=body)

    with capture_logs() as logs:
        prices = feed(handler, clock, policy).get_prices([JUP, BONK])
    assert set(prices) == {BONK}
    assert [e["token"] for e in logs if e["event"] == "prices.invalid_price"] == [JUP]


def test_literal_nan_and_garbage_entry(clock: FixedClock, policy: RetryPolicy) -> None:
    body = json.dumps({SOL: {"usdPrice": 150}, JUP: {"usdPrice": "__NAN__"}, BONK: "garbage"})
    body = body.replace('"__NAN__"', "NaN")
    prices = feed(lambda r: httpx.Response(200, text=body), clock, policy).get_prices([JUP, BONK])
    assert prices == {}


def test_missing_sol_price_gives_no_prices(clock: FixedClock, policy: RetryPolicy) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={JUP: {"usdPrice": 1}})
    with capture_logs() as logs:
        assert feed(handler, clock, policy).get_prices([JUP]) == {}
    assert logs[0]["event"] == "prices.sol_price_missing"


def test_body_not_json_or_wrong_shape_is_transient(clock: FixedClock, policy: RetryPolicy) -> None:
    for response in (httpx.Response(200, text="{oops"), httpx.Response(200, json=[1, 2])):
        with pytest.raises(TransientError):
            feed(lambda r, resp=response: resp, clock, policy).get_prices([JUP])


def test_429_then_success(clock: FixedClock, policy: RetryPolicy, sleeps: Sleeps) -> None:
    responses = [httpx.Response(429, headers={"retry-after": "2"}),
                 httpx.Response(200, text=fixture_text("jupiter_price_v3.json"))]
    prices = feed(lambda r: responses.pop(0), clock, policy).get_prices([JUP])
    assert prices[JUP].price_sol == Decimal("0.004") and sleeps == [2.0]


def test_401_is_permanent_and_hides_key(clock: FixedClock, policy: RetryPolicy,
                                        sleeps: Sleeps) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(401, json={"message": "Unauthorized"})

    jf = feed(handler, clock, policy, api_key="k-supersecret")
    with pytest.raises(PermanentError) as info:
        jf.get_prices([JUP])
    assert len(calls) == 1 and sleeps == []
    assert "supersecret" not in str(info.value) and "supersecret" not in repr(jf)


def test_5xx_exhausted_is_transient(clock: FixedClock, policy: RetryPolicy) -> None:
    with pytest.raises(TransientError):
        feed(lambda r: httpx.Response(500), clock, policy).get_prices([JUP])


def test_batch_size_bounds(clock: FixedClock) -> None:
    with pytest.raises(ValueError):
        JupiterPriceFeed(mock_client(lambda r: httpx.Response(200)), clock, batch_size=51)
