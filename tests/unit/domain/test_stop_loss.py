from __future__ import annotations

import dataclasses
import math
from decimal import Decimal as D
from typing import Any

import pytest

from domain.config import StopLossConfig, TrailingLevel
from domain.stop_loss import StopLossDecision, evaluate, target_percentage
from tests.unit.domain.helpers import config, position

FIXED, ZONES, EXPO = (StopLossConfig(mode=m) for m in ("fixed", "zones", "exponential"))
CUSTOM = StopLossConfig(mode="custom", trailing_levels=(
    TrailingLevel(D(100), D(60)), TrailingLevel(D(50), D(25)), TrailingLevel(D(10), D(0))))


def target(g: str, cfg: StopLossConfig) -> D:
    return target_percentage(D(g), cfg)


def test_spec_mode_examples() -> None:
    assert target("50", FIXED) == D(40)
    assert target("100", EXPO) == D(90)
    assert target("100", ZONES) == D(70)


@pytest.mark.parametrize(
    ("g", "expected"),
    [("-5", D(-32)), ("0", D(-32)), ("19.9999", D(-32)), ("20", D(10)), ("20.0001", D("10.0001")),
     ("100", D(90)), ("1010", D(1000))],
)
def test_fixed(g: str, expected: D) -> None:
    assert target(g, FIXED) == expected


@pytest.mark.parametrize(
    ("g", "expected"),
    [("19.9999", D(-32)), ("20", D(10)), ("25", D("12.5")), ("25.0001", D("15.00006")),
     ("50", D(30)), ("50.01", D("35.007")), ("100", D(70)), ("100.01", D("80.008")),
     ("200", D(160)), ("200.01", D("170.0085")), ("1000", D(850))],
)
def test_zones(g: str, expected: D) -> None:
    assert target(g, ZONES) == expected


def test_exponential_edges_and_curve() -> None:
    assert target("20", EXPO) == D(-32)  # g ≤ 20 → default (inclusive, unlike fixed/zones)
    tiny = target("20.0001", EXPO)
    assert D(0) < tiny < D("0.0001")
    assert target("50", EXPO).quantize(D("0.0001")) == D("30.8099")
    assert target("75", EXPO).quantize(D("0.0001")) == D("53.0966")  # the dip at x = 55
    assert target("85", EXPO).quantize(D("0.0001")) == D("69.7110")  # x = 65
    assert target("500", EXPO) == D(450)


def _expo_oracle(g: float) -> float:
    """docs/rules.md §7 written out independently in floats (a test oracle only)."""
    x = g - 20
    keep = 1 - math.exp(-x / 31.25) - 0.12 * math.exp(-(((x - 55) / 8) ** 2) / 2)
    keep = min(max(keep, 0.0), 0.9)
    if x > 65:
        keep = min(0.9, keep + 0.3 * (1 - math.exp(-(x - 65) / 80)))
    return g * keep


@pytest.mark.parametrize("g", [21, 30, 60, 74, 75, 76, 84, 85, 86, 100, 150, 300, 1000])
def test_exponential_matches_the_formula(g: int) -> None:
    assert abs(float(target(str(g), EXPO)) - _expo_oracle(g)) < 1e-9


def test_custom() -> None:
    assert target("9.99", CUSTOM) == D(-32)  # no level reached → default
    assert target("10", CUSTOM) == D(0)  # custom keeps a 0 % stop (break-even)
    assert target("49.99", CUSTOM) == D(0)
    assert target("50", CUSTOM) == D(25)
    assert target("100", CUSTOM) == D(60)
    assert target("5000", CUSTOM) == D(60)
    assert target("-1", CUSTOM) == D(-32)


def test_default_percentage_is_configurable() -> None:
    assert target("5", StopLossConfig(default_percentage=D(-10))) == D(-10)


def sl_config(**stop_loss: Any) -> Any:
    return config(stopLoss=stop_loss)


def test_fixed_example_avg_1_peak_1_5() -> None:
    pos = position(purchase_price=D(1), peak_price=D(1), current_stop_loss_percentage=D(-32))
    decision = evaluate(pos, D("1.5"), sl_config())
    assert decision == StopLossDecision(False, D(40), D("1.4"), D("1.5"), True)
    after = dataclasses.replace(pos, peak_price=D("1.5"), current_stop_loss_percentage=D(40))
    assert evaluate(after, D("1.4"), sl_config()).triggered  # p ≤ stop price: inclusive
    assert not evaluate(after, D("1.4000001"), sl_config()).triggered
    assert evaluate(after, D("1.45"), sl_config()).changed is False


def test_fresh_position_initialises_peak_and_default_stop() -> None:
    decision = evaluate(position(), D("0.001"), sl_config())
    assert decision == StopLossDecision(False, D(-32), D("0.00068"), D("0.001"), True)
    assert evaluate(position(), D("0.00068"), sl_config()).triggered
    assert not evaluate(position(), D("0.00068001"), sl_config()).triggered


def test_ratchet_never_loosens() -> None:
    tight = position(current_stop_loss_percentage=D(60), peak_price=D("0.0015"))
    decision = evaluate(tight, D("0.0015"), sl_config())  # fixed target 40 < stored 60
    assert decision.stop_loss_percent == D(60) and decision.changed is False
    loose = position(current_stop_loss_percentage=D(-10), peak_price=D("0.001"))
    assert evaluate(loose, D("0.0009"), sl_config()).stop_loss_percent == D(-10)
    peak = position(current_stop_loss_percentage=D(40), peak_price=D("0.0015"))
    decision = evaluate(peak, D("0.0012"), sl_config())  # price falls: peak and stop stay
    assert (decision.peak_price, decision.stop_loss_percent, decision.changed) == (
        D("0.0015"), D(40), False)


def test_target_rounded_to_4_decimals_before_comparison() -> None:
    cfg = sl_config(mode="exponential")
    first = evaluate(position(peak_price=D("0.001")), D("0.0015"), cfg)
    assert first.stop_loss_percent == D("30.8099")
    stored = position(peak_price=first.peak_price,
                      current_stop_loss_percentage=first.stop_loss_percent)
    assert evaluate(stored, D("0.0015"), cfg).changed is False


def test_disabled_never_triggers_nor_tracks_the_peak() -> None:
    pos = position(peak_price=D("0.001"), current_stop_loss_percentage=D(-32))
    decision = evaluate(pos, D("0.00001"), sl_config(enabled=False))
    assert decision == StopLossDecision(False, D(-32), None, D("0.001"), False)
    assert evaluate(pos, D("0.002"), sl_config(enabled=False)).peak_price == D("0.001")


@pytest.mark.parametrize(
    ("mode", "stop_at_g20"),
    [("fixed", D(10)), ("zones", D(10)), ("exponential", D(-32))],
)
def test_g_equals_20_for_each_mode(mode: str, stop_at_g20: D) -> None:
    decision = evaluate(position(peak_price=D("0.0012")), D("0.0012"), sl_config(mode=mode))
    assert decision.stop_loss_percent == stop_at_g20
    below = evaluate(position(peak_price=D("0.00119999")), D("0.00119999"), sl_config(mode=mode))
    assert below.stop_loss_percent == D(-32)


def test_custom_at_g20_with_a_level_at_20() -> None:
    cfg = sl_config(mode="custom", trailingLevels=[{"change": 20, "stopLoss": 5}])
    assert evaluate(position(), D("0.0012"), cfg).stop_loss_percent == D(5)
    assert evaluate(position(), D("0.00119999"), cfg).stop_loss_percent == D(-32)


def test_stop_above_1000_percent_is_representable() -> None:
    decision = evaluate(position(), D("0.0112"), sl_config())  # g = 1020 → stop 1010
    assert decision.stop_loss_percent == D(1010)
    assert decision.stop_price == D("0.0111")


def test_target_rounded_half_even_to_4_decimals() -> None:
    # fixed: g − 10; g = 20.00005 gives 10.00005 → 10.0000 (half to even), 20.00015 → 10.0002
    avg = D(1)
    assert evaluate(position(purchase_price=avg), D("1.2000005"), sl_config()
                    ).stop_loss_percent == D("10.0000")
    assert evaluate(position(purchase_price=avg), D("1.2000015"), sl_config()
                    ).stop_loss_percent == D("10.0002")


def test_default_stop_is_at_the_stored_4_decimals() -> None:
    decision = evaluate(position(), D("0.001"), sl_config(defaultPercentage="-32.12345"))
    assert decision.stop_loss_percent == D("-32.1234")  # half-even: the 4 is kept


def test_a_stop_never_exceeds_what_its_column_holds() -> None:
    # a 10^30-fold rise: every mode's target is far past NUMERIC(12,4); the stop stays storable
    for mode in ("fixed", "zones", "exponential"):
        decision = evaluate(position(purchase_price=D("1e-18")), D("1e12"), sl_config(mode=mode))
        assert decision.stop_loss_percent == D("99999999.9999"), mode
        assert not decision.triggered
