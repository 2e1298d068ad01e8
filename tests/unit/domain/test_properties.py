"""Hypothesis invariants of the trading rules (docs/architecture.md)."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta
from decimal import Decimal as D
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain import dca, stop_loss, take_profit
from domain.config import TradingConfig
from domain.errors import SizingError
from domain.sizing import position_size
from tests.unit.domain.helpers import T0, config, position


def scaled(low: int, high: int, places: int) -> st.SearchStrategy[D]:
    """Exact decimals low..high × 10^-places (never through a float)."""
    return st.integers(low, high).map(lambda n: D(n).scaleb(-places))


prices = scaled(1, 10**7, 9)  # 1e-9 .. 0.01 SOL per token
SL_CONFIGS = [
    config(stopLoss={"mode": "fixed"}),
    config(stopLoss={"mode": "zones"}),
    config(stopLoss={"mode": "exponential", "defaultPercentage": -10}),
    config(stopLoss={"mode": "custom", "trailingLevels": [
        {"change": 300, "stopLoss": 200}, {"change": 40, "stopLoss": 10},
        {"change": 15, "stopLoss": 0}]}),
]


@given(st.sampled_from(SL_CONFIGS), prices, st.lists(prices, min_size=1, max_size=30))
def test_stop_never_loosens(cfg: TradingConfig, avg: D, sequence: list[D]) -> None:
    pos = position(purchase_price=avg)
    last_stop, last_peak = D(-101), D(0)
    for price in sequence:
        decision = stop_loss.evaluate(pos, price, cfg)
        assert decision.stop_loss_percent is not None and decision.stop_price is not None
        assert decision.peak_price is not None
        assert decision.stop_loss_percent >= last_stop
        assert decision.peak_price >= last_peak
        assert decision.triggered is (price <= decision.stop_price)
        last_stop, last_peak = decision.stop_loss_percent, decision.peak_price
        if decision.changed:
            pos = dataclasses.replace(pos, peak_price=decision.peak_price,
                                      current_stop_loss_percentage=decision.stop_loss_percent)
        else:
            assert pos.peak_price == decision.peak_price
            assert pos.current_stop_loss_percentage == decision.stop_loss_percent


fills = st.tuples(scaled(1, 10**6, 6), scaled(1, 10**9, 3))  # (SOL swapped, tokens)


@given(fills, st.lists(fills, min_size=1, max_size=5), scaled(0, 10**4, 8))
def test_dca_average_lies_between_the_fill_prices(
    first: tuple[D, D], more: list[tuple[D, D]], fee: D
) -> None:
    sol, tokens = first
    pos = position(purchase_price=sol / tokens, purchase_amount=tokens, total_invested_sol=sol)
    fill_prices = [sol / tokens]
    invested = sol
    for sol_i, tokens_i in more:
        pos = dca.apply_fill(pos, sol_i, tokens_i, 4, T0, fees_sol=fee)
        fill_prices.append(sol_i / tokens_i)
        invested += sol_i + fee
        tolerance = D("1e-18")
        assert min(fill_prices) - tolerance <= pos.purchase_price <= max(fill_prices) + tolerance
    assert pos.total_invested_sol == invested  # money is conserved: every debit is counted
    assert pos.purchase_amount == tokens + sum(t for _, t in more)


TP_CONFIGS = [
    config(takeProfit={"enabled": True, "mode": mode})
    for mode in ("aggressive", "moderate", "conservative")
] + [
    config(takeProfit={"enabled": True, "mode": "custom", "moonBag": moon,
                       "levels": [{"targetPercent": 10, "sellPercent": 40},
                                  {"targetPercent": 80, "sellPercent": 30},
                                  {"targetPercent": 200, "sellPercent": 30 - retain}]})
    for moon, retain in (({"enabled": False}, 0), ({"retainPercent": 25}, 25))
]


@st.composite
def tp_positions(draw: st.DrawFn) -> Any:
    amount = draw(scaled(1, 10**12, 6))
    held = draw(st.one_of(st.none(), scaled(0, 10**6, 6).map(lambda f: amount * f)))
    moon = draw(st.one_of(st.none(), scaled(0, 5 * 10**5, 6).map(lambda f: amount * f)))
    hit = draw(st.integers(0, 4))
    return position(purchase_amount=amount, remaining_amount=held,
                    take_profit_levels_hit=hit, moon_bag_activated=moon is not None,
                    moon_bag_amount=moon)


@given(st.sampled_from(TP_CONFIGS), tp_positions(), prices)
def test_take_profit_never_sells_the_moon_bag_or_more_than_held(
    cfg: TradingConfig, pos: Any, price: D
) -> None:
    decision = take_profit.evaluate(pos, price, cfg)
    if not decision.execute:
        assert decision.sell_amount == 0
        return
    assert 0 < decision.sell_amount <= pos.holding
    assert decision.new_remaining == pos.holding - decision.sell_amount
    if pos.moon_bag_activated or decision.activate_moon_bag:
        assert decision.moon_bag_amount is not None
        assert decision.new_remaining >= decision.moon_bag_amount
        assert not decision.close_position


@settings(max_examples=50)
@given(st.sampled_from(TP_CONFIGS), st.lists(prices, min_size=1, max_size=20))
def test_take_profit_ladder_over_a_price_path(cfg: TradingConfig, path: list[D]) -> None:
    pos = position()
    sold = D(0)
    for price in path:
        decision = take_profit.evaluate(pos, price, cfg)
        if decision.execute:
            sold += decision.sell_amount
            pos = take_profit.apply_sale(pos, decision, D(0), T0)
        assert pos.holding >= 0 and sold + pos.holding == pos.purchase_amount
        if pos.moon_bag_activated:
            assert pos.moon_bag_amount is not None and pos.holding >= pos.moon_bag_amount


@given(
    balance=scaled(-10**8, 10**11, 8),
    minimum=scaled(10**7, 10**10, 8),
    cap=scaled(1, 10**10, 8),
    seed=st.integers(0, 2**32),
    randomize=st.booleans(),
)
def test_sizing_never_leaves_less_than_the_minimum_balance(
    balance: D, minimum: D, cap: D, seed: int, randomize: bool
) -> None:
    cfg = config(purchaseLimits={"minimumAgentBalance": minimum, "maxPurchasePerToken": cap},
                 positionCalculator={"randomization": {"enabled": randomize}})
    try:
        result = position_size(balance, cfg, random.Random(seed))
    except SizingError as error:
        assert error.reason in {"insufficient_balance", "below_minimum_balance",
                                "insufficient_balance_for_minimum", "invalid_position_size"}
        return
    assert 0 < result.size <= cap
    assert balance - result.size >= minimum
    assert result.size == result.size.quantize(D("0.00000001"))


@given(st.integers(0, 2), st.integers(0, 4000))
def test_dca_never_fires_inside_the_cooldown(count: int, seconds: int) -> None:
    cfg = config(dca={"enabled": True, "mode": "aggressive", "cooldownSeconds": 600})
    pos = position(dca_count=count, last_dca_time=T0)
    decision = dca.evaluate(pos, D("0.0001"), cfg, T0 + timedelta(seconds=seconds))
    assert decision.triggered is (seconds >= 600)
