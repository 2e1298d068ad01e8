"""Configs at and past every bound of docs/rules.md §13, and every rule run on each accepted
one with extreme positions, prices, balances and clocks (issue 21).

``BOUNDS`` is this test's own reading of the rules (not the code's declarations): a value past
one of them must be refused naming its path, and an accepted config must hold only values
inside them. Every accepted config then goes through stop loss, take profit, DCA, stale trade,
the whole tick, sizing and eligibility: the only exception allowed is the typed
``SizingError`` of sizing; every result that is stored must fit its column.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

from hypothesis import HealthCheck, event, note
from hypothesis import strategies as st

from domain import dca, exits, stop_loss, take_profit
from domain.agents import Agent, TokenMetrics
from domain.config import TradingConfig, parse_config
from domain.eligibility import ineligibility_reasons
from domain.errors import InvalidConfig, SizingError
from domain.money import tokens_down
from domain.positions import Position
from domain.signals import Signal
from domain.sizing import buy_precheck, impact_acceptable, impact_retry_sizes, position_size
from tests.unit.domain.helpers import AGENT_ID, TOKEN, USER_ID, position

# (low, low exclusive, high, integer) per camelCase path; "[]" stands for any level index.
Bound = tuple[D, bool, D, bool]
SOL, USD, COUNT, PCT = D("1e9"), D("1e11"), D("1e9"), D("1e6")
BOUNDS: dict[str, Bound] = {
    "purchaseLimits.minimumAgentBalance": (D("0.1"), False, SOL, False),
    "purchaseLimits.maxPurchasePerToken": (D(0), True, SOL, False),
    "purchaseLimits.maxPriceImpact": (D(0), True, D(1), False),
    "signals.minScore": (D(1), False, D(100), True),
    "signals.marketCapMin": (D(0), True, USD, False),
    "signals.marketCapMax": (D(0), True, USD, False),
    "signals.liquidityMin": (D(0), True, USD, False),
    "signals.liquidityMax": (D(0), True, USD, False),
    "signals.holderCountMin": (D(0), False, COUNT, True),
    "signals.holderCountMax": (D(0), False, COUNT, True),
    "stopLoss.defaultPercentage": (D(-100), False, D(0), False),
    "stopLoss.trailingLevels[].change": (D(0), True, PCT, False),
    "stopLoss.trailingLevels[].stopLoss": (D(0), False, D(1000), False),
    **{f"positionCalculator.solBalanceThresholds.{k}": (D(0), True, SOL, False)
       for k in ("minimum", "medium", "large")},
    **{f"positionCalculator.positionSizes.{c}.{k}": (D(0), False, SOL, False)
       for c in ("small", "medium", "large") for k in ("min", "max")},
    "staleTrade.minHoldTimeMinutes": (D(1), False, D(525600), False),
    "staleTrade.minProfitPercent": (-PCT, False, PCT, False),
    "staleTrade.maxProfitPercent": (-PCT, False, PCT, False),
    "dca.levels[].dropPercent": (D(-99), False, D(-1), False),
    "dca.levels[].buyPercent": (D(1), False, D(500), False),
    "dca.maxDCACount": (D(1), False, D(10), True),
    "dca.cooldownSeconds": (D(10), False, D(3600), False),
    "takeProfit.levels[].targetPercent": (D(1), False, D(10000), False),
    "takeProfit.levels[].sellPercent": (D(1), False, D(100), False),
    "takeProfit.moonBag.triggerPercent": (D(1), False, D(10000), False),
    "takeProfit.moonBag.retainPercent": (D(1), False, D(50), False),
}
# Extreme but storable: token prices and amounts fit NUMERIC(30,18), SOL NUMERIC(20,8).
TOKEN_MAX = D("999999999999.999999999999999999")
EXTREME_PRICES = [D("1e-18"), D("3e-18"), D("1e-9"), D("0.001"), D(1), D("12345.678"),
                  D("1e9"), TOKEN_MAX]
EXTREME_AMOUNTS = [D("1e-18"), D("0.000001"), D(1), D(1000), D("1e9"), TOKEN_MAX]
EARLIEST, LATEST = datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, UTC)
T0 = datetime(2025, 1, 1, tzinfo=UTC)
TIMES = [EARLIEST, T0 - timedelta(microseconds=1), T0, T0 + timedelta(seconds=10, microseconds=1),
         T0 + timedelta(days=365), LATEST]
PERCENT_MAX = D("99999999.9999")
SOL_MAX = D("999999999999.99999999")


def _within(value: D, bound: Bound) -> bool:
    low, exclusive, high, integer = bound
    above = value > low if exclusive else value >= low
    return above and value <= high and (not integer or value == value.to_integral_value())


@functools.cache
def edge_values(bound: Bound, inside: bool) -> st.SearchStrategy[tuple[Any, bool]]:
    """A number at or near an edge of ``bound`` (only within it when ``inside``; else at,
    just past or far past it too), spelled as a JSON reader may hand it over; and whether it
    is within the bound."""
    low, _, high, integer = bound
    steps = [D(0), D("1e-8"), D("0.5"), D(1)]
    near = sorted({edge + sign * step for edge in (low, high) for step in steps
                   for sign in (1, -1)})
    far = [high * 10, high + 1, low - 1, D("1e15"), D("1e40"), D("-1e15"), D(0), D("0.5")]
    candidates = [v for v in near + far if not inside or _within(v, bound)]
    spread = st.integers(0, 1000).map(lambda k: low + (high - low) * k / 1000)
    if integer:
        spread = spread.map(lambda v: v.to_integral_value())

    def spelled(drawn: tuple[D, str]) -> tuple[Any, bool]:
        value, spelling = drawn
        raw: Any = format(value, "f")
        if spelling == "int" and value == value.to_integral_value():
            raw = int(value)
        elif spelling == "float":
            raw = float(value)
            value = D(str(raw))
        elif spelling == "decimal":
            raw = value
        return raw, _within(value, bound)

    spellings = st.sampled_from(["str", "int", "float", "decimal"])
    values = st.tuples(st.sampled_from(candidates) | spread, spellings).map(spelled)
    return values.filter(lambda pair: pair[1]) if inside else values


@dataclass
class BoundCase:
    config: dict[str, Any]
    past: list[str]  # the paths set past a bound: each must be named in the refusal

    def __repr__(self) -> str:
        return f"BoundCase(past={self.past}, config={self.config!r})"


# Fields that must keep an order when all are inside (drawn together, then sorted).
GROUPS = [
    ("positionCalculator.solBalanceThresholds.minimum",
     "positionCalculator.solBalanceThresholds.medium",
     "positionCalculator.solBalanceThresholds.large"),
    *((f"positionCalculator.positionSizes.{c}.min", f"positionCalculator.positionSizes.{c}.max")
      for c in ("small", "medium", "large")),
    ("staleTrade.minProfitPercent", "staleTrade.maxProfitPercent"),
    *((f"signals.{m}Min", f"signals.{m}Max") for m in ("marketCap", "liquidity", "holderCount")),
]
_GROUPED = {path for group in GROUPS for path in group}
_SMALL_SELL: Bound = (D(1), False, D(20), False)  # four of them and a moon bag stay ≤ 100 %


def _put(config: dict[str, Any], path: str, raw: Any) -> None:
    *parents, key = path.split(".")
    node = config
    for part in parents:
        node = node.setdefault(part, {})
    node[key] = raw


class _Drawer:
    def __init__(self, draw: st.DrawFn, inside: bool) -> None:
        self.draw, self.inside = draw, inside
        self.case = BoundCase({}, [])

    def value(self, path: str, bound: Bound | None = None) -> tuple[Any, bool]:
        raw, within = self.draw(edge_values(bound or BOUNDS[path], self.inside))
        return raw, within

    def scalar(self, path: str) -> None:
        raw, within = self.value(path)
        _put(self.case.config, path, raw)
        if not within:
            self.case.past.append(path)

    def group(self, paths: tuple[str, ...]) -> None:
        drawn = sorted((self.value(p) for p in paths), key=lambda pair: D(str(pair[0])))
        for path, (raw, within) in zip(paths, drawn, strict=True):
            _put(self.case.config, path, raw)
            if not within:
                self.case.past.append(path)

    def levels(self, path: str, keys: tuple[str, str], descending: bool) -> list[Any]:
        levels = []
        for i in range(self.draw(st.integers(1 if self.inside else 0, 4))):
            level = {}
            for key in keys:
                small = self.inside and key == "sellPercent"
                raw, within = self.value(f"{path}[].{key}", _SMALL_SELL if small else None)
                level[key] = raw
                if not within:
                    self.case.past.append(f"{path}[{i}].{key}")
            levels.append(level)
        return sorted(levels, key=lambda lv: D(str(lv[keys[0]])), reverse=descending)


@st.composite
def bound_configs(draw: st.DrawFn) -> BoundCase:
    """Every mode and flag, ladders of edge values, and a random share of the scalar fields (or
    all of them) at an edge: half the cases only inside the bounds, half also past them."""
    d = _Drawer(draw, inside=draw(st.booleans()))
    modes = ["aggressive", "moderate", "conservative", "custom"]
    d.case.config.update({
        "stopLoss": {"mode": draw(st.sampled_from(["fixed", "zones", "exponential", "custom"])),
                     "enabled": draw(st.booleans()),
                     "trailingLevels": d.levels("stopLoss.trailingLevels",
                                                ("change", "stopLoss"), True)},
        "dca": {"enabled": draw(st.booleans()), "mode": draw(st.sampled_from(modes)),
                "levels": d.levels("dca.levels", ("dropPercent", "buyPercent"), True)},
        "takeProfit": {"enabled": draw(st.booleans()), "mode": draw(st.sampled_from(modes)),
                       "moonBag": {"enabled": draw(st.booleans())},
                       "levels": d.levels("takeProfit.levels", ("targetPercent", "sellPercent"),
                                          False)},
        "staleTrade": {"enabled": draw(st.booleans())},
        "positionCalculator": {"randomization": {"enabled": draw(st.booleans())}},
    })
    everything = draw(st.booleans())
    for group in GROUPS:
        if everything or draw(st.booleans()):
            d.group(group)
    for path in BOUNDS:
        if "[]" not in path and path not in _GROUPED and (everything or draw(st.booleans())):
            d.scalar(path)
    return d.case


def check_parse(case: BoundCase) -> TradingConfig | None:
    """Parse; a refusal must name every scalar path set past its bound, an acceptance must
    hold only values inside every bound."""
    try:
        config = parse_config(case.config).config
    except InvalidConfig as exc:
        named = {path for path, _ in exc.errors}
        scalars = [p for p in case.past if "[" not in p]
        assert set(scalars) <= named, (scalars, exc.errors)
        levels = {p.split("[")[0] for p in case.past if "[" in p}
        assert all(any(n.startswith(f"{lv}[") for n in named) for lv in levels), exc.errors
        return None
    assert not case.past, case.past
    for path, value in _numbers(config.to_dict()):
        assert _within(D(str(value)), BOUNDS[path]), (path, value)
    return config


def _numbers(node: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [n for k, v in node.items() for n in _numbers(v, f"{path}.{k}" if path else k)]
    if isinstance(node, list):
        return [n for v in node for n in _numbers(v, f"{path}[]")]
    if node is None or isinstance(node, bool) or path not in BOUNDS:
        return []
    return [(path, node)]


def _stored(amount: D) -> D:
    return tokens_down(amount)


@st.composite
def extreme_positions(draw: st.DrawFn) -> Position:
    amount = draw(st.sampled_from(EXTREME_AMOUNTS))
    share = draw(st.sampled_from([None, D(0), D("1e-9"), D("0.1"), D(1)]))
    remaining = None if share is None else _stored(amount * share)
    hit = draw(st.integers(0, 14))
    moon = draw(st.sampled_from([None, D(0), amount, _stored(amount / 10)]))
    return position(
        purchase_price=draw(st.sampled_from(EXTREME_PRICES)), purchase_amount=amount,
        remaining_amount=remaining,
        total_invested_sol=draw(st.sampled_from([D(0), D("1e-8"), D(1), SOL_MAX])),
        current_stop_loss_percentage=draw(st.sampled_from([None, D(-100), D(0), D(1000),
                                                           PERCENT_MAX])),
        peak_price=draw(st.sampled_from([None, *EXTREME_PRICES])),
        dca_count=draw(st.integers(0, 12)), last_dca_time=draw(st.sampled_from([None, *TIMES])),
        take_profit_levels_hit=hit, tp_batch_start_level=draw(st.integers(0, hit)),
        total_take_profit_levels=draw(st.sampled_from([None, 0, hit, hit + 4])),
        moon_bag_activated=moon is not None, moon_bag_amount=moon,
        created_at=draw(st.sampled_from(TIMES)))


@dataclass
class World:
    position: Position
    price: D
    now: datetime
    balance: D
    open_positions: int
    impact: D
    metrics: TokenMetrics | None
    signal: Signal
    seed: int


extreme_worlds = st.builds(
    World, extreme_positions(), st.sampled_from(EXTREME_PRICES), st.sampled_from(TIMES),
    st.sampled_from([D(0), D("1e-8"), D("0.1"), D(5), D("1e9"), D("999999999999.99999999")]),
    st.integers(0, 30), st.sampled_from([D(0), D("-1"), D("0.05"), D(1), D("1e6")]),
    st.one_of(st.none(), st.builds(
        TokenMetrics, st.sampled_from([None, D(0), D("1e-8"), D("1e11"), D("1e30")]),
        st.sampled_from([None, D(0), D("1e11"), D("1e30")]),
        st.sampled_from([None, 0, 10**9, 10**18]))),
    st.builds(Signal, st.just(TOKEN), st.sampled_from(["buy", "sell", "x" * 50]),
              st.integers(1, 100)),
    st.integers(0, 2**32))


def run_every_rule(config: TradingConfig, world: World) -> None:
    """Every rule on one accepted config; results that are stored must fit their columns."""
    pos, price, now = world.position, world.price, world.now
    stop = stop_loss.evaluate(pos, price, config)
    if stop.stop_loss_percent is not None:
        assert -100 <= stop.stop_loss_percent <= PERCENT_MAX
        assert stop.stop_loss_percent == stop.stop_loss_percent.quantize(D("0.0001"))
    if stop.peak_price is not None:
        assert stop.peak_price <= TOKEN_MAX
    sale = take_profit.evaluate(pos, price, config)
    assert 0 <= sale.sell_amount <= pos.holding
    if sale.execute:
        take_profit.apply_sale(pos, sale, D("0.5"), now)
    buy = dca.evaluate(pos, price, config, now)
    assert buy.buy_amount_sol >= 0
    if buy.triggered and pos.purchase_amount > 0:
        dca.apply_fill(pos, buy.buy_amount_sol, buy.buy_amount_sol / price, 4, now)
    exits.is_stale(pos, price, config, now)
    exits.evaluate_tick(pos, price, config, now)
    exits.decide_exit(pos, price, config, now)
    buy_precheck(world.balance, world.open_positions, config)
    try:
        size = position_size(world.balance, config, random.Random(world.seed))
    except SizingError:
        pass
    else:
        assert 0 < size.size <= world.balance
        impact_retry_sizes(size.size)
    impact_acceptable(world.impact, config)
    agent = Agent(AGENT_ID, USER_ID, "extreme")
    ineligibility_reasons(agent, config, world.signal, world.metrics)


SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]


CONFIGS = bound_configs()
WORLDS = st.lists(extreme_worlds, min_size=1, max_size=3)


def check_bound_case(case: BoundCase, worlds: list[World]) -> TradingConfig | None:
    """The whole property for one drawn case: parse, then every rule in every world."""
    note(repr(case))
    config = check_parse(case)
    event("accepted" if config is not None else "refused")
    if config is not None:
        for world in worlds:
            note(repr(world))
            run_every_rule(config, world)
    return config
