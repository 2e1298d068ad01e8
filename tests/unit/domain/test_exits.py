from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from domain import exits
from domain.dca import DcaDecision
from domain.exits import Exit, Hold
from domain.take_profit import TakeProfitDecision
from tests.unit.domain.helpers import T0, config, minutes, position

LATER = T0 + timedelta(hours=2)


@pytest.mark.parametrize(
    ("price", "age", "stale"),
    [
        ("0.00101", minutes(60), True),  # +1 %: min edge inclusive, age edge inclusive
        ("0.0011", minutes(60), True),  # +10 %: max edge inclusive
        ("0.00100999", minutes(600), False),
        ("0.00110001", minutes(600), False),
        ("0.00105", minutes(59.99), False),
        ("0.0009", minutes(600), False),
    ],
)
def test_is_stale(price: str, age: timedelta, stale: bool) -> None:
    assert exits.is_stale(position(), D(price), config(), T0 + age) is stale


def test_stale_disabled_and_configured() -> None:
    off = config(staleTrade={"enabled": False})
    assert not exits.is_stale(position(), D("0.00105"), off, LATER)
    cfg = config(staleTrade={"minHoldTimeMinutes": 10, "minProfitPercent": -5,
                             "maxProfitPercent": 0})
    assert exits.is_stale(position(), D("0.00095"), cfg, T0 + minutes(10))


def test_stale_age_counts_from_created_at_even_after_dca() -> None:
    pos = position(dca_count=1, last_dca_time=LATER - minutes(1))
    assert exits.is_stale(pos, D("0.00105"), config(), LATER)


def test_hold() -> None:
    assert exits.decide_exit(position(), D("0.001"), config(), LATER) == Hold()


def test_stop_loss_first() -> None:
    pos = position(remaining_amount=D(700))
    assert exits.decide_exit(pos, D("0.00068"), config(), LATER) == Exit("stop_loss", D(700))


def test_stop_loss_wins_over_stale_and_take_profit() -> None:
    # the stored stop (+20 %) is above a price that is also stale and at a TP level (+5 %)
    pos = position(current_stop_loss_percentage=D(20), peak_price=D("0.0015"))
    cfg = config(takeProfit={"enabled": True, "mode": "custom",
                             "levels": [{"targetPercent": 5, "sellPercent": 10}]})
    assert exits.decide_exit(pos, D("0.00105"), cfg, LATER) == Exit("stop_loss", D(1000))


def test_take_profit_before_stale() -> None:
    cfg = config(takeProfit={"enabled": True, "mode": "custom",
                             "levels": [{"targetPercent": 5, "sellPercent": 10}]})
    assert exits.decide_exit(position(), D("0.00105"), cfg, LATER) == Exit(
        "take_profit", D(100), closes=False)


def test_stale_exit() -> None:
    assert exits.decide_exit(position(), D("0.00105"), config(), LATER) == Exit(
        "stale_trade", D(1000))


def tick(pos: Any, price: str, cfg: Any, now: Any = LATER) -> exits.Tick:
    return exits.evaluate_tick(pos, D(price), cfg, now)


def test_tick_reports_stop_loss_state_with_every_action() -> None:
    result = tick(position(), "0.0015", config())
    assert result.action == Hold()
    assert (result.stop_loss.changed, result.stop_loss.stop_loss_percent) == (True, D(40))


def test_tick_take_profit_sale() -> None:
    result = tick(position(), "0.0015", config(takeProfit={"enabled": True}))
    assert isinstance(result.action, TakeProfitDecision)
    assert result.action.sell_amount == D(250)


def test_tick_dca_last() -> None:
    cfg = config(dca={"enabled": True}, stopLoss={"defaultPercentage": -50})
    result = tick(position(), "0.0008", cfg)
    assert isinstance(result.action, DcaDecision) and result.action.buy_amount_sol == D("0.6")
    stop = config(dca={"enabled": True})
    assert tick(position(current_stop_loss_percentage=D(-20)), "0.0008", stop).action == Exit(
        "stop_loss", D(1000))  # the stop at −20 % fires before the −20 % DCA level


def test_tick_untriggered_dca_is_hold() -> None:
    cfg = config(dca={"enabled": True})
    assert tick(position(), "0.00081", cfg).action == Hold()


def test_stale_with_fractional_minutes() -> None:
    cfg = config(staleTrade={"minHoldTimeMinutes": 90.5})
    young = T0 + timedelta(minutes=90, seconds=29, microseconds=999999)
    assert not exits.is_stale(position(), D("0.00105"), cfg, young)
    assert exits.is_stale(position(), D("0.00105"), cfg, T0 + timedelta(minutes=90, seconds=30))


def test_the_longest_hold_time_and_extreme_ages_do_not_crash() -> None:
    """A year, the bound: ages from a clock gone back to the end of the calendar."""
    from datetime import UTC, datetime

    cfg = config(staleTrade={"minHoldTimeMinutes": 525600})
    old = position(created_at=datetime(1, 1, 1, tzinfo=UTC))
    end = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    assert exits.is_stale(old, D("0.00105"), cfg, end)
    assert exits.decide_exit(old, D("0.00105"), cfg, end) == Exit("stale_trade", D(1000))
    assert not exits.is_stale(position(created_at=end), D("0.00105"), cfg, T0)
    year = T0 + timedelta(days=365)
    assert exits.is_stale(position(), D("0.00105"), cfg, year)
    assert not exits.is_stale(position(), D("0.00105"), cfg, year - timedelta(microseconds=1))
