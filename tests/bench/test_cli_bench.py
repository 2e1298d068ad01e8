"""How fast the `fleet` CLI answers a person: the installed entry point, run as a user runs it
(a new process each time, Python's bytecode cache warm, as after the first run on a
machine), wall time per run. `fleet --help` imports no database, queue or settings library
(tests/unit/cli/test_startup.py); a listing pays for them, a connection and one query."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.bench.conftest import Board, summarize

pytestmark = pytest.mark.bench
FLEET = str(Path(sys.executable).parent / "fleet")
RUNS = 20


@pytest.fixture(scope="module")
def pycache(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A bytecode cache of the runs' own (this sandbox may forbid writing one; a user's
    Python writes it on the first run): nothing is written into the tree."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": str(tmp_path_factory.mktemp("pycache"))}


def wall_times(args: list[str], env: dict[str, str]) -> list[float]:
    samples = []
    for i in range(RUNS + 2):
        start = time.perf_counter()
        subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True, timeout=60)
        if i >= 2:  # the first runs warm the file cache
            samples.append(time.perf_counter() - start)
    return samples


PYTHON = "baseline: python -c pass"


def test_fleet_help_wall_time(board: Board, pycache: dict[str, str]) -> None:
    board.add(summarize(PYTHON, "s", wall_times([sys.executable, "-c", "pass"], pycache)))
    f = board.add(summarize("CLI: fleet --help wall time", "s",
                            wall_times([FLEET, "--help"], pycache), target="≤ 0.3 s",
                            baseline=PYTHON))
    f.passed = f.median <= 0.3
    # A command's own --help: typer validates parameters with pydantic, which it imports.
    sub = board.add(summarize("CLI: fleet signals push --help wall time", "s",
                              wall_times([FLEET, "signals", "push", "--help"], pycache),
                              target="≤ 0.5 s", baseline=PYTHON))
    sub.passed = sub.median <= 0.5


def test_fleet_agents_list_wall_time(board: Board, database_url: str, redis_url: str,
                                     tmp_path: Path, pycache: dict[str, str]) -> None:
    env = {**{k: v for k, v in pycache.items() if not k.startswith("SIGNALFLEET_")},
           "SIGNALFLEET_DATABASE_URL": database_url, "SIGNALFLEET_REDIS_URL": redis_url,
           "SIGNALFLEET_VAR_DIR": str(tmp_path)}
    f = board.add(summarize("CLI: fleet agents list (imports, connect, query)", "s",
                            wall_times([FLEET, "agents", "list"], env), target="≤ 0.5 s"))
    f.passed = f.median <= 0.5
