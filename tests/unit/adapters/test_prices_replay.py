"""ReplayPriceFeed: timing, speed and bad-line errors."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from domain.errors import InvalidInput
from tests.unit.adapters.conftest import BONK, FIXTURES, JUP, T0, WIF, FixedClock
from workers.adapters.prices import ReplayPriceFeed


def test_timeline_at_speed_one(clock: FixedClock) -> None:
    feed = ReplayPriceFeed(FIXTURES / "replay_ticks.jsonl", clock, T0)
    clock.current = T0 - timedelta(seconds=1)
    assert feed.get_prices([JUP]) == {}  # before the start
    clock.current = T0
    prices = feed.get_prices([JUP, BONK, WIF])
    assert prices[JUP].price_sol == Decimal("0.004") and prices[JUP].price_usd == Decimal("0.601")
    assert prices[BONK].price_sol == Decimal("1E-7") and WIF not in prices
    assert prices[JUP].observed_at == T0 and prices[JUP].source == "replay"
    clock.current = T0 + timedelta(seconds=10.4)
    assert feed.get_prices([JUP])[JUP].price_sol == Decimal("0.004")
    clock.current = T0 + timedelta(seconds=10.5)
    quote = feed.get_prices([JUP])[JUP]
    assert quote.price_sol == Decimal("0.0042") and quote.price_usd is None
    assert quote.observed_at == T0 + timedelta(seconds=10.5)
    clock.current = T0 + timedelta(hours=1)
    quote = feed.get_prices([JUP])[JUP]
    assert quote.price_sol == Decimal("0.0035") and isinstance(quote.price_sol, Decimal)
    assert quote.observed_at == T0 + timedelta(seconds=30)
    assert feed.get_prices([BONK])[BONK].price_sol == Decimal("1.2E-7")


def test_speed_compresses_time(clock: FixedClock) -> None:
    feed = ReplayPriceFeed(FIXTURES / "replay_ticks.jsonl", clock, T0, speed=10)
    assert feed.duration == timedelta(seconds=3)
    clock.current = T0 + timedelta(seconds=1.05)  # feed position 10.5 s
    quote = feed.get_prices([JUP])[JUP]
    assert quote.price_sol == Decimal("0.0042")
    assert quote.observed_at == T0 + timedelta(seconds=1.05)


def test_lines_and_ties(clock: FixedClock) -> None:
    lines = [f'{{"offset_s": 5, "token": "{JUP}", "price_sol": "1"}}',
             f'{{"offset_s": 5, "token": "{JUP}", "price_sol": "2"}}']
    feed = ReplayPriceFeed(lines, clock, T0, speed=Decimal("0.5"))
    assert feed.duration == timedelta(seconds=10)
    clock.current = T0 + timedelta(seconds=10)
    assert feed.get_prices([JUP])[JUP].price_sol == 2  # the later line wins at a tie
    assert ReplayPriceFeed([], clock, T0).duration == timedelta(0)


def test_path_as_str(clock: FixedClock) -> None:
    feed = ReplayPriceFeed(str(FIXTURES / "replay_ticks.jsonl"), clock, T0)
    assert feed.duration == timedelta(seconds=30)


def tick(**fields: object) -> str:
    return json.dumps({"offset_s": 1, "token": JUP, "price_sol": "1", **fields})


@pytest.mark.parametrize(("line", "field"), [
    ("not json", "line 2"),
    ("[1, 2]", "line 2"),
    (tick(offset_s=-1), "line 2.offset_s"),
    (tick(offset_s="x"), "line 2.offset_s"),
    (json.dumps({"token": JUP, "price_sol": "1"}), "line 2.offset_s"),
    (tick(token="bad mint!"), "line 2.token"),
    (tick(price_sol="0"), "line 2.price_sol"),
    (tick(price_sol="abc"), "line 2.price_sol"),
    (tick(price_usd="-1"), "line 2.price_usd"),
    (tick(priceUsd="1"), "line 2.priceUsd"),
])
def test_bad_lines_name_line_and_field(clock: FixedClock, line: str, field: str) -> None:
    good = f'{{"offset_s": 0, "token": "{JUP}", "price_sol": "1"}}'
    with pytest.raises(InvalidInput) as info:
        ReplayPriceFeed([good, line], clock, T0)
    assert info.value.field == field
    assert str(info.value).startswith(field + ":")


@pytest.mark.parametrize("speed", [0, -1, Decimal("NaN")])
def test_bad_speed(clock: FixedClock, speed: Decimal) -> None:
    with pytest.raises(InvalidInput, match="speed"):
        ReplayPriceFeed([], clock, T0, speed=speed)
