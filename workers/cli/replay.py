"""``fleet prices replay FILE``: drive the ``static`` feed from a recorded market file."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import typer

from workers.adapters.prices import StaticPriceFeed, Tick
from workers.bootstrap import Container
from workers.cli.common import container, err_console, errors, progress_bar
from workers.price_replay import PriceSink, Timer, duration_seconds, load_ticks, parse_speed
from workers.price_replay import replay as replay_ticks


def _runtime() -> Container:
    return container()  # refuses a database not at head


def replay(file: Path = typer.Argument(..., help="JSONL ticks: offset_s, token, price_sol, "
                                                  "price_usd (the replay feed's format)"),
           speed: str = typer.Option("1", "--speed", help="2 = twice as fast as recorded")
           ) -> None:
    """Push a replay file's ticks into the static feed as their time comes (progress bar)."""
    with errors():
        rate = parse_speed(speed)
        ticks = load_ticks(file)
        rt = _runtime()
        if rt.settings.price_feed != "static":
            err_console.print(f"[yellow]note:[/yellow] the price feed is "
                              f"{rt.settings.price_feed!r}; workers read these prices only "
                              "with SIGNALFLEET_PRICE_FEED=static")
        pushed = run_replay(file, ticks, StaticPriceFeed(rt.redis, rt.clock), rate)
    err_console.print(f"pushed {pushed} ticks from {file}")


def run_replay(file: Path, ticks: Sequence[Tick], sink: PriceSink, speed: Decimal,
               timer: Timer | None = None) -> int:
    """The replay with a progress bar over the ticks."""
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
