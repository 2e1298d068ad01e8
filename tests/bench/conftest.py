"""`make bench`: figures on real PostgreSQL + Redis + worker processes, written to
bench/results.json and printed as a table with each target and pass/miss."""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (  # noqa: F401  (fixtures)
    e2e_redis,
    ingestor,
    pipeline,
    sender,
    stack_env,
    worker,
)

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results.json"


@dataclass
class Figure:
    name: str
    unit: str
    min: float
    median: float
    p99: float
    target: str = ""
    passed: bool | None = None
    note: str = ""


def summarize(name: str, unit: str, samples: list[float], *, target: str = "",
              passed: bool | None = None, note: str = "") -> Figure:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]
    return Figure(name, unit, ordered[0], statistics.median(ordered), p99, target, passed, note)


class Board:
    def __init__(self) -> None:
        self.figures: list[Figure] = []

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure


@pytest.fixture(scope="session")
def board() -> Iterator[Board]:
    b = Board()
    yield b
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(),
               "platform": platform.platform()}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": machine,
                                   "figures": [asdict(f) for f in b.figures]}, indent=2))
    print(_table(b.figures, machine))


def _fmt(x: float) -> str:
    return f"{x:,.3f}" if x < 100 else f"{x:,.0f}"


def _table(figures: list[Figure], machine: dict[str, Any]) -> str:
    lines = [f"\nsignalfleet bench — {machine['cpus']} cpus, Python {machine['python']}",
             f"{'figure':<44} {'unit':<10} {'min':>10} {'median':>10} {'p99':>10}  target",
             "-" * 110]
    for f in figures:
        verdict = "" if f.passed is None else ("PASS" if f.passed else "MISS")
        lines.append(f"{f.name:<44} {f.unit:<10} {_fmt(f.min):>10} {_fmt(f.median):>10} "
                     f"{_fmt(f.p99):>10}  {f.target} {verdict} {f.note}".rstrip())
    return "\n".join(lines)
