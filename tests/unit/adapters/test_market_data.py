"""Eligibility metrics from Jupiter's Tokens API v2 (recorded-shape fixture, MockTransport),
the factory that picks the metrics source, and every eligibility bound evaluated on them."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from domain.agents import Agent, TokenMetrics
from domain.eligibility import ineligibility_reasons
from domain.errors import PermanentError, TransientError
from domain.signals import Signal
from tests.unit.adapters.conftest import (
    BONK,
    JUP,
    WIF,
    Sleeps,
    fake_mints,
    fixture_text,
    mock_client,
)
from tests.unit.domain.helpers import AGENT_ID, USER_ID, config
from workers.adapters.http import RetryPolicy
from workers.adapters.market_data import JupiterTokensMetrics, make_metrics_source
from workers.settings import Settings

URL = "https://api.jup.ag/tokens/v2"


def answering(body: str, seen: list[httpx.Request] | None = None) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(200, text=body)
    return mock_client(handler)


def source(client: httpx.Client, policy: RetryPolicy) -> JupiterTokensMetrics:
    return JupiterTokensMetrics(client, url=URL, api_key="tk-1", policy=policy)


def test_request_shape_and_metrics(policy: RetryPolicy) -> None:
    seen: list[httpx.Request] = []
    missing = fake_mints(1)[0]
    metrics = source(answering(fixture_text("jupiter_tokens_v2.json"), seen), policy) \
        .get_metrics([JUP, BONK, WIF, missing, JUP])
    [request] = seen
    assert request.method == "GET" and request.url.path == "/tokens/v2/search"
    assert request.url.params["query"] == f"{JUP},{BONK},{WIF},{missing}"
    assert request.headers["x-api-key"] == "tk-1"
    assert metrics[JUP] == TokenMetrics(market_cap=Decimal("1900474513.62"),
                                        liquidity=Decimal("11473843.94"), holder_count=746283)
    assert metrics[BONK] == TokenMetrics(None, Decimal("4800123.5"), None)  # absent, null
    assert metrics[WIF] == TokenMetrics(Decimal("901234567.89"), None, 221043)
    assert missing not in metrics  # Jupiter does not know it: unknown, never zero


def test_malformed_values_are_unknown_and_logged(policy: RetryPolicy,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    body = json.dumps([{"id": JUP, "holderCount": 12.5, "mcap": "lots", "liquidity": -1},
                       {"id": BONK, "holderCount": -3, "mcap": 0, "liquidity": 0},
                       {"id": WIF, "holderCount": "1200", "mcap": "5e6"},
                       {"id": "not-requested", "holderCount": 1}, "garbage"])
    metrics = source(answering(body), policy).get_metrics([JUP, BONK, WIF])
    assert metrics[JUP] == TokenMetrics(None, None, None)
    assert metrics[BONK] == TokenMetrics(None, Decimal(0), None)
    assert metrics[WIF] == TokenMetrics(Decimal("5E+6"), None, 1200)
    assert set(metrics) == {JUP, BONK, WIF}


def test_batches_of_100(policy: RetryPolicy) -> None:
    seen: list[httpx.Request] = []
    source(answering("[]", seen), policy).get_metrics(fake_mints(150))
    assert [len(r.url.params["query"].split(",")) for r in seen] == [100, 50]


def test_not_a_list_is_transient_429_retried_401_permanent(policy: RetryPolicy,
                                                          sleeps: Sleeps) -> None:
    with pytest.raises(TransientError, match="unexpected response shape"):
        source(answering('{"error": "x"}'), policy).get_metrics([JUP])
    answers = [httpx.Response(429), httpx.Response(200, text="[]")]
    assert source(mock_client(lambda r: answers.pop(0)), policy).get_metrics([JUP]) == {}
    assert len(sleeps) == 1
    with pytest.raises(PermanentError, match="401"):
        source(mock_client(lambda r: httpx.Response(401)), policy).get_metrics([JUP])


@pytest.mark.parametrize(("values", "kind"), [
    ({"jupiter_api_key": SecretStr("k")}, JupiterTokensMetrics),
    ({"price_feed": "jupiter"}, "DexScreenerMetrics()"),  # a live feed, no key
    ({"price_feed": "dexscreener"}, "DexScreenerMetrics()"),
    ({"price_feed": "static"}, None),  # offline: no market data from any host
    ({"price_feed": "replay"}, None),
    ({"metrics_source": "jupiter"}, JupiterTokensMetrics),
    ({"metrics_source": "dexscreener", "jupiter_api_key": SecretStr("k")},
     "DexScreenerMetrics()"),
    ({"metrics_source": "none"}, None),
])
def test_the_factory_picks_the_source(values: dict[str, Any], kind: Any,
                                      policy: RetryPolicy) -> None:
    explicit = {"metrics_source": "auto", "jupiter_api_key": None, **values}
    made = make_metrics_source(Settings(_env_file=None, **explicit),  # type: ignore[call-arg]
                               httpx.Client(), policy)
    if isinstance(kind, str):
        assert repr(made) == kind
    else:
        assert made is kind or isinstance(made, kind)


def test_the_dexscreener_source_has_no_holder_count(policy: RetryPolicy) -> None:
    settings = Settings(_env_file=None, metrics_source="dexscreener")  # type: ignore[call-arg]
    made = make_metrics_source(settings, answering(fixture_text("dexscreener_tokens.json")),
                               policy)
    assert made is not None
    jup = made.get_metrics([JUP])[JUP]
    assert jup.holder_count is None and jup.market_cap == Decimal(1357000000)


BOUNDS: dict[str, Any] = {"holderCountMin": 1000, "holderCountMax": 1_000_000,
                          "marketCapMin": "1000000", "marketCapMax": "5000000000",
                          "liquidityMin": "100000", "liquidityMax": "50000000"}


@pytest.mark.parametrize(("mint", "bounds", "expected"), [
    (JUP, BOUNDS, []),
    (JUP, {**BOUNDS, "holderCountMax": 500_000}, ["holder_count_out_of_range"]),
    (JUP, {**BOUNDS, "marketCapMax": "1000000000", "liquidityMin": "20000000"},
     ["market_cap_out_of_range", "liquidity_out_of_range"]),
    (BONK, {"liquidityMin": "100000"}, []),  # only the metric it has is bounded
    (BONK, {"holderCountMin": 1}, ["metrics_unavailable"]),  # holderCount null: unknown
    (WIF, {"liquidityMax": "1"}, ["metrics_unavailable"]),
])
def test_every_eligibility_bound_works_with_the_jupiter_source(
        policy: RetryPolicy, mint: str, bounds: dict[str, Any], expected: list[str]) -> None:
    settings = Settings(_env_file=None, jupiter_api_key=SecretStr("k"),  # type: ignore[call-arg]
                        metrics_source="auto")
    made = make_metrics_source(settings, answering(fixture_text("jupiter_tokens_v2.json")),
                               policy)
    assert isinstance(made, JupiterTokensMetrics)
    metrics = made.get_metrics([mint]).get(mint)
    agent = Agent(AGENT_ID, USER_ID, "alpha")
    reasons = ineligibility_reasons(agent, config(signals=bounds), Signal(mint, "buy", 50),
                                    metrics)
    assert reasons == expected
