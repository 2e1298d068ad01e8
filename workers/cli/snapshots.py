"""``fleet snapshots take``: the hourly balance snapshot, now (docs/rules.md §14), with progress."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from workers.cli.common import console, container, errors, group, progress_bar

app = group("Hourly balance snapshots (the equity curve's data).")
T = TypeVar("T")


@app.command("take")
def take() -> None:
    """Snapshot every agent wallet for the current UTC hour (upsert: safe to repeat)."""
    from workers.handlers.positions.snapshots import snapshot

    with errors(), progress_bar() as bar:
        def track(wallets: Sequence[T]) -> Iterable[T]:
            return _tracked(bar, wallets)

        written = snapshot(container().deps, track)
    console.print(f"snapshot written for {written} wallets")


def _tracked(bar: Any, items: Sequence[T]) -> Iterator[T]:
    task = bar.add_task("snapshotting wallets", total=len(items))
    for item in items:
        yield item
        bar.advance(task)
