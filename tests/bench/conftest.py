"""`make bench`: figures on real PostgreSQL + Redis + worker processes, written to
bench/results.json and appended to bench/history.jsonl (one line a run: time, git commit,
machine, figures). The printed table shows each figure beside its baseline from the same run
(and the ratio) and the previous run's median on the same machine, so a regression shows."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
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

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results.json"
HISTORY = ROOT / "bench" / "history.jsonl"


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
    baseline: str = ""  # the name of the figure from the same run this one is compared to


def summarize(name: str, unit: str, samples: list[float], *, target: str = "",
              passed: bool | None = None, note: str = "", baseline: str = "") -> Figure:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]
    return Figure(name, unit, ordered[0], statistics.median(ordered), p99, target, passed,
                  note, baseline)


class Board:
    def __init__(self) -> None:
        self.figures: list[Figure] = []

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure

    def median(self, name: str) -> float | None:
        """A figure measured earlier in this run (None when ``-k`` left it out)."""
        return next((f.median for f in self.figures if f.name == name), None)


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "host": platform.node()}


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                             capture_output=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip()


def previous_medians(history: Path, here: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """Each figure's median from the latest earlier run on this machine that measured it,
    with that run's commit (a run with ``-k`` measures only some figures)."""
    if not history.exists():
        return {}
    out: dict[str, tuple[float, str]] = {}
    for line in history.read_text().splitlines():
        try:
            run = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a killed run: skip it, keep the others
        if not isinstance(run, dict) or run.get("machine") != here:
            continue
        for f in run.get("figures", []):
            out[f["name"]] = (float(f["median"]), str(run.get("commit", "?")))
    return out


def record(figures: list[Figure], here: dict[str, Any], history: Path, results: Path) -> None:
    run = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "commit": git_commit(),
           "machine": here, "figures": [asdict(f) for f in figures]}
    results.parent.mkdir(exist_ok=True)
    results.write_text(json.dumps(run, indent=2))
    if figures:
        with history.open("a") as out:
            out.write(json.dumps(run) + "\n")


@pytest.fixture(scope="session")
def board() -> Iterator[Board]:
    b = Board()
    yield b
    here = machine()
    previous = previous_medians(HISTORY, here)
    record(b.figures, here, HISTORY, RESULTS)
    print(table(b.figures, here, previous))


def _fmt(x: float) -> str:
    return f"{x:,.3f}" if x < 100 else f"{x:,.0f}"


def _vs_baseline(f: Figure, by_name: dict[str, Figure]) -> str:
    base = by_name.get(f.baseline)
    if base is None or base.median == 0:
        return ""
    return f"{_fmt(base.median)} {base.unit} (×{f.median / base.median:,.2f})"


def _vs_previous(f: Figure, previous: dict[str, tuple[float, str]]) -> str:
    if f.name not in previous:
        return "first run"
    median, commit = previous[f.name]
    change = "" if median == 0 else f" {100 * (f.median / median - 1):+.0f} %"
    return f"{_fmt(median)} @{commit}{change}"


def table(figures: list[Figure], here: dict[str, Any],
          previous: dict[str, tuple[float, str]]) -> str:
    by_name = {f.name: f for f in figures}
    lines = [f"\nsignalfleet bench — {here['cpus']} cpus, Python {here['python']}",
             f"{'figure':<44} {'unit':<10} {'min':>10} {'median':>10} {'p99':>10}  "
             f"{'baseline (ratio)':<32} {'previous run':<24} target", "-" * 150]
    for f in figures:
        verdict = "" if f.passed is None else ("PASS" if f.passed else "MISS")
        lines.append(f"{f.name:<44} {f.unit:<10} {_fmt(f.min):>10} {_fmt(f.median):>10} "
                     f"{_fmt(f.p99):>10}  {_vs_baseline(f, by_name):<32} "
                     f"{_vs_previous(f, previous):<24} {f.target} {verdict} {f.note}".rstrip())
    return "\n".join(lines)
