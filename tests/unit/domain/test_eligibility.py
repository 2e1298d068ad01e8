from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from domain.agents import Agent
from domain.eligibility import TokenMetrics, ineligibility_reasons
from domain.signals import Signal
from tests.unit.domain.helpers import AGENT_ID, OTHER_USER_ID, TOKEN, TOKEN_B, USER_ID, config

AGENT = Agent(AGENT_ID, USER_ID, "alpha")
METRICS = TokenMetrics(market_cap=D(50_000), liquidity=D(10_000), holder_count=300)


def signal(**changes: Any) -> Signal:
    fields: dict[str, Any] = {"token_address": TOKEN, "signal_type": "buy", "signal_strength": 50}
    fields.update(changes)
    return Signal(**fields)


def reasons(
    signals: dict[str, Any] | None = None, *, agent: Agent = AGENT,
    sig: Signal | None = None, metrics: TokenMetrics | None = METRICS,
) -> list[str]:
    return ineligibility_reasons(agent, config(signals=signals or {}), sig or signal(), metrics)


def test_eligible_by_default() -> None:
    assert reasons() == []
    assert reasons(metrics=None) == []  # no bound set: metrics are not needed


def test_user_targeting() -> None:
    assert reasons(sig=signal(user_id=USER_ID)) == []
    assert reasons(sig=signal(user_id=OTHER_USER_ID)) == ["other_user"]


@pytest.mark.parametrize(
    ("mode", "sim", "live", "paused"),
    [("simulation", True, False, False), ("simulation", False, True, True),
     ("live", False, True, False), ("live", True, False, True)],
)
def test_automation_flag_of_the_current_mode(
    mode: str, sim: bool, live: bool, paused: bool
) -> None:
    agent = Agent(AGENT_ID, USER_ID, "alpha", mode, sim, live)  # type: ignore[arg-type]
    assert agent.automation_on is not paused
    assert reasons(agent=agent) == (["automation_paused"] if paused else [])


def test_min_score_inclusive() -> None:
    assert reasons({"minScore": 50}) == []
    assert reasons({"minScore": 51}) == ["below_min_score"]


def test_allowed_signal_types_exact_match() -> None:
    assert reasons({"allowedSignalTypes": ["buy", "Velocity"]}) == []
    assert reasons({"allowedSignalTypes": ["Buy"]}) == ["signal_type_not_allowed"]


def test_token_filters() -> None:
    assert reasons({"tokenFilterMode": "blacklist", "tokenList": [TOKEN]}) == ["token_blacklisted"]
    assert reasons({"tokenFilterMode": "blacklist", "tokenList": [TOKEN_B]}) == []
    assert reasons({"tokenFilterMode": "whitelist", "tokenList": [TOKEN]}) == []
    assert reasons({"tokenFilterMode": "whitelist", "tokenList": [TOKEN_B]}) == [
        "token_not_whitelisted"]
    assert reasons({"tokenFilterMode": "whitelist"}) == ["token_not_whitelisted"]
    assert reasons({"tokenFilterMode": "none", "tokenList": [TOKEN]}) == []


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        ({"marketCapMin": 50_000, "marketCapMax": 50_000}, []),  # inclusive both ends
        ({"marketCapMin": "50000.01"}, ["market_cap_out_of_range"]),
        ({"marketCapMax": "49999.99"}, ["market_cap_out_of_range"]),
        ({"liquidityMin": 10_000, "liquidityMax": 10_000}, []),
        ({"liquidityMin": 10_001}, ["liquidity_out_of_range"]),
        ({"liquidityMax": 9_999}, ["liquidity_out_of_range"]),
        ({"holderCountMin": 300, "holderCountMax": 300}, []),
        ({"holderCountMin": 301}, ["holder_count_out_of_range"]),
        ({"holderCountMax": 299}, ["holder_count_out_of_range"]),
        ({"holderCountMin": 0}, []),
        ({"marketCapMin": 60_000, "liquidityMin": 20_000, "holderCountMax": 10},
         ["market_cap_out_of_range", "liquidity_out_of_range", "holder_count_out_of_range"]),
    ],
)
def test_metric_bounds(bounds: dict[str, Any], expected: list[str]) -> None:
    assert reasons(bounds) == expected


def test_missing_metrics_with_a_bound_set() -> None:
    assert reasons({"liquidityMin": 1}, metrics=None) == ["metrics_unavailable"]
    partial = TokenMetrics(market_cap=D(50_000))
    assert reasons({"marketCapMin": 1}, metrics=partial) == []
    assert reasons({"marketCapMin": 1, "liquidityMin": 1, "holderCountMin": 1},
                   metrics=partial) == ["metrics_unavailable"]
    assert reasons({"marketCapMin": 60_000, "liquidityMin": 1}, metrics=partial) == [
        "market_cap_out_of_range", "metrics_unavailable"]


def test_every_reason_is_returned_in_order() -> None:
    agent = Agent(AGENT_ID, USER_ID, "alpha", "simulation", False, True)
    rules = {"minScore": 90, "allowedSignalTypes": ["x"], "tokenFilterMode": "blacklist",
             "tokenList": [TOKEN], "holderCountMin": 1}
    assert ineligibility_reasons(agent, config(signals=rules), signal(user_id=OTHER_USER_ID),
                                 None) == [
        "other_user", "automation_paused", "below_min_score", "signal_type_not_allowed",
        "token_blacklisted", "metrics_unavailable"]


def test_exit_signals_apply_user_and_automation_rules_only() -> None:
    rules = {"minScore": 90, "allowedSignalTypes": ["buy"], "tokenFilterMode": "whitelist",
             "liquidityMin": 1}
    assert reasons(rules, sig=signal(signal_type="SELL", signal_strength=1), metrics=None) == []
    paused = Agent(AGENT_ID, USER_ID, "alpha", "live", True, False)
    assert reasons(rules, agent=paused, metrics=None,
                   sig=signal(signal_type="sell", user_id=OTHER_USER_ID)) == [
        "other_user", "automation_paused"]
