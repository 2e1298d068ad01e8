"""How fast the `fleet` CLI answers a person: the installed entry point, run as a user runs it
(a new process each time, Python's bytecode cache warm, as after the first run on a
machine), wall time per run. `fleet --help` imports no database, queue or settings library
(tests/unit/cli/test_startup.py); a listing pays for psycopg, rich, a connection and one
query, not for the settings library, SQLAlchemy or the embedded servers' tools
(tests/integration/test_cli.py), on configured URLs and on the embedded servers alike."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from persistence.read_connection import libpq_url
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


# What a listing cannot do without: the CLI, the database driver and the table library,
# imported and used by a script of ten lines (the same two queries, a table of the rows).
FLOOR = "baseline: typer + psycopg + rich, connect, 2 queries, print"
FLOOR_CODE = """import sys, typer, psycopg
from rich.console import Console
from rich.table import Table
with psycopg.connect(sys.argv[1]) as conn:
    conn.execute("SELECT version_num FROM alembic_version").fetchall()
    rows = conn.execute("SELECT name, trading_mode FROM agents").fetchall()
table = Table("agent", "mode", title="agents")
for row in rows:
    table.add_row(*row)
Console().print(table)
"""


def test_fleet_agents_list_wall_time(board: Board, database_url: str, redis_url: str,
                                     tmp_path: Path, pycache: dict[str, str]) -> None:
    env = {**{k: v for k, v in pycache.items() if not k.startswith("SIGNALFLEET_")},
           "SIGNALFLEET_DATABASE_URL": database_url, "SIGNALFLEET_REDIS_URL": redis_url,
           "SIGNALFLEET_VAR_DIR": str(tmp_path)}
    board.add(summarize(FLOOR, "s", wall_times(
        [sys.executable, "-c", FLOOR_CODE, libpq_url(database_url)], env)))
    f = board.add(summarize("CLI: fleet agents list (imports, connect, query)", "s",
                            wall_times([FLEET, "agents", "list"], env), target="≤ 0.5 s",
                            baseline=FLOOR))
    f.passed = f.median <= 0.5


def test_fleet_agents_list_on_the_embedded_servers(board: Board, pycache: dict[str, str]) -> None:
    """The newcomer's listing: no URL set, the embedded servers running, as after `make run`
    (found through PostgreSQL's pid file: no pgserver, psql or Redis on the way)."""
    var = Path(tempfile.mkdtemp(prefix="signalfleet-bench-"))  # pgserver runs as `pgserver`
    env = {**{k: v for k, v in pycache.items() if not k.startswith("SIGNALFLEET_")},
           "SIGNALFLEET_VAR_DIR": str(var)}
    try:
        for args in (["services", "up"], ["db", "upgrade"]):
            subprocess.run([FLEET, *args], env=env, capture_output=True, check=True, timeout=300)
        f = board.add(summarize("CLI: fleet agents list, embedded servers (after make run)", "s",
                                wall_times([FLEET, "agents", "list"], env), target="≤ 0.5 s"))
        f.passed = f.median <= 0.5
    finally:
        subprocess.run([FLEET, "services", "stop"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(var, ignore_errors=True)
