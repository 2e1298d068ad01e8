"""`make bench` keeps its history and prints each figure beside its baseline and the previous
run (tests/bench/conftest.py); the figures themselves are measured only by `make bench`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bench.conftest import Figure, previous_medians, record, table

HERE = {"cpus": 2, "python": "3.11", "platform": "linux", "host": "a"}
BASE = Figure("baseline: commits", "commits/s", 900, 1000, 1100)
LATENCY = Figure("latency", "ms", 1, 4, 9, baseline="baseline: commits")


def test_each_run_is_appended_with_commit_time_and_machine(tmp_path: Path) -> None:
    history, results = tmp_path / "history.jsonl", tmp_path / "results.json"
    record([BASE, LATENCY], HERE, history, results)
    record([LATENCY], HERE, history, results)
    runs = [json.loads(line) for line in history.read_text().splitlines()]
    assert len(runs) == 2
    assert {"at", "commit", "machine", "figures"} <= set(runs[0])
    assert [f["name"] for f in runs[1]["figures"]] == ["latency"]
    assert json.loads(results.read_text())["figures"][0]["name"] == "latency"


def test_previous_is_the_latest_run_on_the_same_machine_that_measured_it(
        tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    runs = [(HERE, [BASE, LATENCY]), (HERE, [Figure("latency", "ms", 1, 6, 9)]),
            ({**HERE, "host": "b"}, [Figure("latency", "ms", 1, 99, 99)])]
    for here, figures in runs:
        record(figures, here, history, tmp_path / "r.json")
    with history.open("a") as out:
        out.write('{"cut short\n')
    previous = previous_medians(history, HERE)
    assert previous["latency"][0] == 6
    assert previous["baseline: commits"][0] == 1000


def test_table_shows_baseline_ratio_and_change_since_the_previous_run() -> None:
    printed = table([BASE, LATENCY], HERE, {"latency": (5.0, "abc1234")})
    row = next(line for line in printed.splitlines() if line.startswith("latency"))
    assert "1,000 commits/s (×0.00)" in row
    assert "5.000 @abc1234 -20 %" in row
    base_row = next(line for line in printed.splitlines() if line.startswith("baseline"))
    assert "first run" in base_row
