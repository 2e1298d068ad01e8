"""``fleet prices replay FILE``: drive the ``static`` feed from a recorded market file."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from workers.cli.common import Clock, container, err_console, errors, progress_bar

if TYPE_CHECKING:
    from workers.adapters.prices import Tick
    from workers.price_replay import PriceSink, Timer


def replay(file: Path = typer.Argument(..., help="JSONL ticks: offset_s, token, price_sol, "
                                                  "price_usd (the replay feed's format)"),
           speed: str = typer.Option("1", "--speed", help="2 = twice as fast as recorded")
           ) -> None:
    """Push a replay file's ticks into the static feed as their time comes (progress bar)."""
    from workers.adapters.prices import StaticPriceFeed
    from workers.price_replay import load_ticks, parse_speed

    with errors():
        rate = parse_speed(speed)
        ticks = load_ticks(file)
        c = container()
        if c.settings.price_feed != "static":
            err_console.print(f"[yellow]note:[/yellow] the price feed is "
                              f"{c.settings.price_feed!r}; workers read these prices only "
                              "with SIGNALFLEET_PRICE_FEED=static")
        pushed = run_replay(file, ticks, StaticPriceFeed(c.redis, Clock()), rate)
    err_console.print(f"pushed {pushed} ticks from {file}")


def run_replay(file: Path, ticks: Sequence[Tick], sink: PriceSink, speed: Decimal,
               timer: Timer | None = None) -> int:
    """The replay with a progress bar over the ticks."""
    from workers.price_replay import duration_seconds
    from workers.price_replay import replay as replay_ticks

    seconds = duration_seconds(ticks, speed)
    pushed = 0

    def advance(tick: Tick) -> None:
        nonlocal pushed
        pushed += 1
        bar.advance(task)

    with progress_bar() as bar:
        task = bar.add_task(f"replaying {file.name} ({seconds:.0f}s at ×{speed})",
                            total=len(ticks))
        try:
            return replay_ticks(ticks, sink, speed, timer=timer, on_tick=advance)
        except KeyboardInterrupt:
            err_console.print(f"stopped after {pushed} of {len(ticks)} ticks")
            raise typer.Exit(130) from None
