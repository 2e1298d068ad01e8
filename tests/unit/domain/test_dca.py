from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from domain import dca
from domain.config import DcaConfig, DcaLevel, TradingConfig
from domain.errors import InvalidInput
from tests.unit.domain.helpers import T0, config, position

NOW = T0 + timedelta(hours=1)
MODERATE = DcaLevel(D(-20), D(75))


def on(**dca_section: Any) -> TradingConfig:
    return config(dca={"enabled": True, **dca_section})


def test_spec_example_moderate_buys_0_6_sol() -> None:
    decision = dca.evaluate(position(), D("0.0008"), on(), NOW)
    assert decision == dca.DcaDecision(True, MODERATE, D("0.6"), "triggered", 0)


def test_drop_is_inclusive() -> None:
    assert not dca.evaluate(position(), D("0.00080001"), on(), NOW).triggered
    decision = dca.evaluate(position(), D("0.00080001"), on(), NOW)
    assert (decision.reason, decision.level, decision.buy_amount_sol) == (
        "drop_not_reached", MODERATE, D(0))
    assert dca.evaluate(position(), D("0.0008"), on(), NOW).triggered


def test_buy_uses_the_remaining_amount_when_set() -> None:
    pos = position(remaining_amount=D(500))
    assert dca.evaluate(pos, D("0.0008"), on(), NOW).buy_amount_sol == D("0.3")


def test_buy_is_rounded_down() -> None:
    pos = position(purchase_amount=D("1000.123456789"))
    assert dca.evaluate(pos, D("0.0008"), on(), NOW).buy_amount_sol == D("0.60007407")


@pytest.mark.parametrize(
    ("changes", "section", "reason"),
    [
        ({}, {"enabled": False}, "dca_disabled"),
        ({"moon_bag_activated": True, "moon_bag_amount": D(100), "remaining_amount": D(100)}, {},
         "only_moon_bag"),
        ({"dca_count": 3}, {}, "max_dca_count"),
        ({"dca_count": 1}, {"maxDCACount": 1}, "max_dca_count"),
        ({"dca_count": 2}, {}, "levels_exhausted"),  # moderate has 2 levels, max count 3
        ({"dca_count": 1, "last_dca_time": NOW - timedelta(seconds=29)}, {}, "cooldown"),
        ({"dca_count": 1, "last_dca_time": NOW - timedelta(seconds=1799)},
         {"cooldownSeconds": 1800}, "cooldown"),
    ],
)
def test_rules(changes: dict[str, Any], section: dict[str, Any], reason: str) -> None:
    decision = dca.evaluate(position(**changes), D("0.0001"), on(**section), NOW)
    assert (decision.triggered, decision.reason, decision.buy_amount_sol) == (False, reason, D(0))


def test_first_failing_rule_stops() -> None:
    pos = position(dca_count=3, last_dca_time=NOW)
    assert dca.evaluate(pos, D("0.0001"), on(), NOW).reason == "max_dca_count"
    assert dca.evaluate(pos, D("0.0001"), on(enabled=False), NOW).reason == "dca_disabled"


def test_moon_bag_with_more_than_the_bag_left_may_dca() -> None:
    pos = position(moon_bag_activated=True, moon_bag_amount=D(100), remaining_amount=D(101))
    assert dca.evaluate(pos, D("0.0008"), on(), NOW).triggered


def test_cooldown_edge_is_exclusive() -> None:
    pos = position(dca_count=1, last_dca_time=NOW - timedelta(seconds=30))
    assert dca.evaluate(pos, D("0.0008"), on(), NOW).triggered


def test_no_levels() -> None:
    cfg = TradingConfig(dca=DcaConfig(enabled=True, mode="custom", levels=()))
    assert dca.evaluate(position(), D("0.0001"), cfg, NOW).reason == "no_levels"


def test_level_index_is_the_dca_count() -> None:
    cfg = on(mode="custom", levels=[{"dropPercent": -30, "buyPercent": 50},
                                    {"dropPercent": -10, "buyPercent": 20}])
    first = dca.evaluate(position(), D("0.0009"), cfg, NOW)
    assert (first.level, first.level_index, first.buy_amount_sol) == (
        DcaLevel(D(-10), D(20)), 0, D("0.18"))
    second = dca.evaluate(position(dca_count=1), D("0.0009"), cfg, NOW)
    assert (second.reason, second.level_index) == ("drop_not_reached", 1)
    assert dca.evaluate(position(dca_count=1), D("0.0007"), cfg, NOW).triggered


@pytest.mark.parametrize(("mode", "count"), [("aggressive", 3), ("conservative", 1)])
def test_preset_lengths(mode: str, count: int) -> None:
    cfg = on(mode=mode, maxDCACount=10)
    assert dca.evaluate(position(dca_count=count - 1), D("0.0001"), cfg, NOW).triggered
    assert dca.evaluate(position(dca_count=count), D("0.0001"), cfg, NOW).reason == (
        "levels_exhausted")


def test_apply_fill_spec_example() -> None:
    after = dca.apply_fill(position(), D("0.5"), D(600), 4, NOW)
    assert after.purchase_price == D("0.0009375")
    assert after.purchase_amount == D(1600)
    assert after.total_invested_sol == D("1.5")
    assert after.remaining_amount is None
    assert (after.dca_count, after.last_dca_time, after.updated_at) == (1, NOW, NOW)
    assert (after.tp_batch_start_level, after.total_take_profit_levels) == (0, 4)


def test_apply_fill_fees_count_in_invested_not_in_the_average() -> None:
    after = dca.apply_fill(position(), D("0.5"), D(600), 4, NOW, fees_sol=D("0.00125"))
    assert after.purchase_price == D("0.0009375")
    assert after.total_invested_sol == D("1.50125")


def test_apply_fill_keeps_peak_stop_and_age() -> None:
    pos = position(peak_price=D("0.002"), current_stop_loss_percentage=D(10))
    after = dca.apply_fill(pos, D("0.5"), D(600), 4, NOW)
    assert (after.peak_price, after.current_stop_loss_percentage, after.created_at) == (
        D("0.002"), D(10), T0)


def test_dca_after_take_profit_starts_a_fresh_ladder() -> None:
    pos = position(remaining_amount=D(500), take_profit_levels_hit=2)
    after = dca.apply_fill(pos, D("0.5"), D(600), 4, NOW)
    assert after.remaining_amount == D(1100)
    assert after.purchase_amount == D(1600)
    assert (after.take_profit_levels_hit, after.tp_batch_start_level,
            after.total_take_profit_levels) == (2, 2, 6)


def test_apply_fill_average_rounded_to_the_price_scale() -> None:
    after = dca.apply_fill(position(), D("0.1"), D(3), 4, NOW)
    assert after.purchase_price == D("0.001096709870388833")  # 1.1 / 1003, half-even at 18 dp
    assert after.purchase_price.as_tuple().exponent == -18


@pytest.mark.parametrize(("sol", "tokens", "fees"), [("0", "1", "0"), ("1", "0", "0"),
                                                      ("1", "1", "-0.1")])
def test_apply_fill_rejects_empty_fills(sol: str, tokens: str, fees: str) -> None:
    with pytest.raises(InvalidInput):
        dca.apply_fill(position(), D(sol), D(tokens), 4, NOW, fees_sol=D(fees))


def test_apply_fill_does_not_mutate() -> None:
    pos = position()
    dca.apply_fill(pos, D("0.5"), D(600), 4, NOW)
    assert pos == position()
    assert dataclasses.is_dataclass(pos)


def test_fractional_cooldown_seconds() -> None:
    cfg = on(cooldownSeconds="10.5")
    waited = position(dca_count=1, last_dca_time=NOW - timedelta(seconds=10, microseconds=499999))
    assert dca.evaluate(waited, D("0.0008"), cfg, NOW).reason == "cooldown"
    enough = position(dca_count=1, last_dca_time=NOW - timedelta(seconds=10, microseconds=500000))
    assert dca.evaluate(enough, D("0.0008"), cfg, NOW).triggered


def test_a_clock_gone_back_is_still_in_cooldown() -> None:
    pos = position(dca_count=1, last_dca_time=NOW + timedelta(days=3650))
    assert dca.evaluate(pos, D("0.0008"), on(), NOW).reason == "cooldown"


def test_a_buy_that_rounds_to_zero_is_amount_too_small() -> None:
    dust = position(purchase_amount=D("0.000001"))  # 0.0008 × 1e-6 × 75 % rounds to 0 SOL
    decision = dca.evaluate(dust, D("0.0008"), on(), NOW)
    assert (decision.triggered, decision.reason, decision.buy_amount_sol) == (
        False, "amount_too_small", D(0))
    assert decision.level is not None and decision.level_index == 0
