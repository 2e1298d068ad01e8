"""``workers.price_replay``: ticks are pushed in order, each when its time comes."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest
import typer

from domain.errors import InvalidInput
from workers.cli.replay import run_replay
from workers.price_replay import Timer, load_ticks, parse_speed, replay

BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
WIF = "EKpQGSJtjMFqKZ9KQanSqYXRcF8fBopzLHYxdM65zcjm"


class FakeTimer:
    """Time moves only when the replay sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def timer(self) -> Timer:
        return Timer(monotonic=lambda: self.now, sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


class Sink:
    def __init__(self, clock: FakeTimer) -> None:
        self.clock = clock
        self.pushed: list[tuple[float, str, D, D | None]] = []

    def set_price(self, token: str, price_sol: D, price_usd: D | None = None) -> None:
        self.pushed.append((round(self.clock.now - 100.0, 6), token, price_sol, price_usd))


def write(tmp_path: Path, *rows: dict | str) -> Path:
    path = tmp_path / "market.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows))
    return path


def test_ticks_are_pushed_in_offset_order_at_their_time_scaled_by_speed(tmp_path: Path) -> None:
    path = write(tmp_path,
                 {"offset_s": 10, "token": BONK, "price_sol": "0.002"},
                 {"offset_s": 0, "token": BONK, "price_sol": "0.001", "price_usd": "0.15"},
                 "",
                 {"offset_s": 10, "token": WIF, "price_sol": "0.5"},
                 {"offset_s": 30, "token": BONK, "price_sol": "0.0015"})
    clock = FakeTimer()
    sink = Sink(clock)
    seen: list[str] = []
    count = replay(load_ticks(path), sink, D(2), timer=clock.timer(),
                   on_tick=lambda tick: seen.append(tick.token))
    assert count == 4 and len(seen) == 4
    assert sink.pushed == [(0.0, BONK, D("0.001"), D("0.15")), (5.0, BONK, D("0.002"), None),
                           (5.0, WIF, D("0.5"), None), (15.0, BONK, D("0.0015"), None)]
    assert clock.sleeps == [5.0, 10.0]  # no sleep for a tick already due


@pytest.mark.parametrize(("rows", "field"), [
    (["not json"], "line 1"),
    ([{"offset_s": 0, "token": "nope", "price_sol": "1"}], "line 1.token"),
    ([{"offset_s": -1, "token": BONK, "price_sol": "1"}], "line 1.offset_s"),
    ([""], "file"),
])
def test_a_bad_file_names_the_line_and_field(tmp_path: Path, rows: list, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        load_ticks(write(tmp_path, *rows))
    assert err.value.field == field


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as err:
        load_ticks(tmp_path / "absent.jsonl")
    assert err.value.field == "file"


@pytest.mark.parametrize("text", ["0", "-1", "fast", "Infinity", "NaN"])
def test_speed_must_be_a_positive_number(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_speed(text)
    assert err.value.field == "speed"
    assert parse_speed("2.5") == D("2.5")


def test_ctrl_c_stops_the_replay_command_cleanly(tmp_path: Path) -> None:
    path = write(tmp_path, *({"offset_s": n, "token": BONK, "price_sol": "0.001"}
                             for n in range(3)))
    clock = FakeTimer()
    sink = Sink(clock)

    def set_price(token: str, price_sol: D, price_usd: D | None = None) -> None:
        if sink.pushed:
            raise KeyboardInterrupt
        sink.pushed.append((0.0, token, price_sol, price_usd))

    sink.set_price = set_price  # type: ignore[method-assign]
    with pytest.raises(typer.Exit) as stopped:
        run_replay(path, load_ticks(path), sink, D(1), clock.timer())
    assert stopped.value.exit_code == 130 and len(sink.pushed) == 1
