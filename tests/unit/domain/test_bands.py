"""The quiet band (domain/bands.py): a price inside a position's band, before its ``until``,
is a Hold with no stop change for that position, whatever the config (hypothesis)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain import exits
from domain.bands import Band, position_band, token_band
from domain.config import TradingConfig
from domain.positions import Position
from tests.unit.domain.helpers import T0, config, position


def scaled(low: int, high: int, places: int) -> st.SearchStrategy[D]:
    return st.integers(low, high).map(lambda n: D(n).scaleb(-places))


@st.composite
def configs(draw: st.DrawFn) -> TradingConfig:
    sl: dict[str, Any] = {"enabled": draw(st.booleans()),
                          "mode": draw(st.sampled_from(["fixed", "zones", "exponential"])),
                          "defaultPercentage": draw(st.integers(-60, -1))}
    tp: dict[str, Any] = {"enabled": draw(st.booleans()),
                          "mode": draw(st.sampled_from(["aggressive", "moderate",
                                                        "conservative"]))}
    dca: dict[str, Any] = {"enabled": draw(st.booleans()),
                           "mode": draw(st.sampled_from(["conservative", "moderate",
                                                         "aggressive"])),
                           "maxDCACount": draw(st.integers(1, 4)),
                           "cooldownSeconds": draw(st.integers(10, 3600))}
    low = draw(st.integers(-50, 50))
    stale: dict[str, Any] = {"enabled": draw(st.booleans()),
                             "minHoldTimeMinutes": draw(st.integers(1, 240)),
                             "minProfitPercent": low,
                             "maxProfitPercent": low + draw(st.integers(0, 50))}
    return config(stopLoss=sl, takeProfit=tp, dca=dca, staleTrade=stale)


@st.composite
def positions(draw: st.DrawFn) -> Position:
    avg = draw(scaled(1, 10**7, 9))
    peak = draw(st.one_of(st.none(), st.integers(0, 400).map(lambda g: avg * (1 + D(g) / 100))))
    stop = draw(st.one_of(st.none(), scaled(-1000000, 3000000, 4)))
    hit = draw(st.integers(0, 4))
    amount = D(1000)
    moon = draw(st.booleans())
    last_dca = draw(st.one_of(st.none(), st.integers(0, 7200).map(
        lambda s: T0 + timedelta(seconds=s))))
    return position(purchase_price=avg, peak_price=peak, current_stop_loss_percentage=stop,
                    take_profit_levels_hit=hit, tp_batch_start_level=draw(st.integers(0, hit)),
                    dca_count=draw(st.integers(0, 4)), last_dca_time=last_dca,
                    remaining_amount=draw(st.sampled_from([None, amount, D(300), D(100)])),
                    moon_bag_activated=moon, moon_bag_amount=D(100) if moon else None)


def _price_near(draw: st.DrawFn, band: Band | None, avg: D) -> D:
    """Often at or a hair beside a bound (where an off-by-one would show), else anywhere."""
    anchors = [avg] + ([] if band is None else [band.low, band.high or avg,
                                                 band.stale_low or avg, band.stale_high or avg])
    anchor = draw(st.sampled_from(anchors))
    nudge = draw(st.sampled_from([D(0), D("1e-18"), D("-1e-18"), D("1e-12"), D("-1e-12")]))
    factor = draw(st.sampled_from([D(1), D(1), D("0.5"), D("1.5"), D("0.9"), D("1.1")]))
    return max(anchor * factor + nudge, D("1e-18"))


@settings(max_examples=600, deadline=None)
@given(configs(), positions(), st.data())
def test_a_price_inside_the_band_holds_and_changes_no_stop(
        cfg: TradingConfig, pos: Position, data: st.DataObject) -> None:
    band = position_band(pos, cfg)
    price = _price_near(data.draw, band, pos.purchase_price)
    now = T0 + timedelta(seconds=data.draw(st.integers(0, 20000)))
    if band is None or not band.holds(price, now):
        return
    tick = exits.evaluate_tick(pos, price, cfg, now)
    assert isinstance(tick.action, exits.Hold), (band, price, tick)
    assert not tick.stop_loss.changed, (band, price, tick)


@settings(max_examples=200, deadline=None)
@given(configs(), st.lists(positions(), min_size=1, max_size=6), scaled(1, 10**7, 9))
def test_the_token_band_holds_only_where_every_position_band_holds(
        cfg: TradingConfig, many: list[Position], price: D) -> None:
    bands = [position_band(p, cfg) for p in many]
    joint = token_band(bands)
    if joint is None:
        assert None in bands
        return
    assert joint.holds(price, T0) == all(b is not None and b.holds(price, T0) for b in bands)


def test_a_fresh_position_at_its_purchase_price_has_a_band_around_it() -> None:
    pos = position(peak_price=D("0.001"), current_stop_loss_percentage=D("-32.0000"))
    band = position_band(pos, config())
    assert band is not None and band.holds(D("0.001"), T0)
    assert not band.holds(D("0.00068"), T0)  # the stop price exits
    assert not band.holds(D("0.0010001"), T0)  # above the peak the stop ratchets
    assert band.until == T0 + timedelta(minutes=60)  # then it may go stale
    later = T0 + timedelta(minutes=60)
    assert band.holds(D("0.001"), later)  # a 0 % gain is outside the stale window (1–10 %)
    assert not band.holds(D("0.00105"), later)
    assert exits.evaluate_tick(pos, D("0.00105"), config(), later).action == \
        exits.Exit(exits.STALE_TRADE, pos.holding)


def test_an_old_position_holds_outside_its_stale_window() -> None:
    cfg = config(staleTrade={"enabled": True, "minHoldTimeMinutes": 60,
                             "minProfitPercent": -5, "maxProfitPercent": 5})
    pos = position(peak_price=D("0.001"), current_stop_loss_percentage=D("-32.0000"))
    band = position_band(pos, cfg)
    later = T0 + timedelta(minutes=60)
    assert band is not None and band.stale_low is not None and band.stale_high is not None
    assert not band.holds(D("0.00095"), later) and not band.holds(D("0.001"), later)
    assert band.holds(D("0.000949"), later)  # a loss past the window: not stale
    for price in (D("0.00095"), D("0.000949")):
        assert isinstance(exits.evaluate_tick(pos, price, cfg, later).action, exits.Hold) \
            is (price == D("0.000949"))


def test_an_untracked_stop_has_no_band() -> None:
    assert position_band(position(), config()) is None
