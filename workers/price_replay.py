"""``fleet prices replay FILE``: push a recorded market (the replay feed's JSONL ticks) into
the ``static`` feed over time, so a running system trades on it as if it were live.

Tick ``offset_s`` is seconds from the start of the replay; at ``--speed X`` a tick is pushed
``offset_s / X`` seconds after the start (ticks at the same offset keep their file order).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Protocol

from domain.errors import InvalidInput
from workers.adapters.prices import Tick, parse_tick


class PriceSink(Protocol):
    """What a replay writes to (``StaticPriceFeed`` fits)."""

    def set_price(self, token_address: str, price_sol: Decimal,
                  price_usd: Decimal | None = None) -> object: ...


@dataclass(frozen=True)
class Timer:
    """The wall clock, injectable so tests need not wait."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def parse_speed(text: str) -> Decimal:
    try:
        speed = Decimal(text)
    except InvalidOperation:
        raise InvalidInput("speed", "must be a positive number") from None
    if not speed.is_finite() or speed <= 0:
        raise InvalidInput("speed", "must be a positive number")
    return speed


def load_ticks(path: Path) -> list[Tick]:
    """Every tick of a JSONL file, in push order; InvalidInput names the file or the line."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput("file", f"cannot read {path}: {exc}") from None
    ticks = [parse_tick(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    if not ticks:
        raise InvalidInput("file", f"{path} has no ticks")
    return sorted(ticks, key=lambda t: t.offset_s)  # stable: file order at equal offsets


def replay(ticks: Sequence[Tick], sink: PriceSink, speed: Decimal, *,
           timer: Timer | None = None,
           on_tick: Callable[[Tick], None] = lambda tick: None) -> int:
    """Push each tick's price when its time comes; returns the number pushed."""
    timer = timer or Timer()
    start = timer.monotonic()
    for tick in ticks:
        _wait_until(start + float(tick.offset_s / speed), timer)
        sink.set_price(tick.token, tick.price_sol, tick.price_usd)
        on_tick(tick)
    return len(ticks)


def _wait_until(deadline: float, timer: Timer) -> None:
    remaining = deadline - timer.monotonic()
    if remaining > 0:
        timer.sleep(remaining)


def duration_seconds(ticks: Sequence[Tick], speed: Decimal) -> float:
    return float(ticks[-1].offset_s / speed) if ticks else 0.0
