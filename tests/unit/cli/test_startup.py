"""``fleet --help`` stays light: registering the commands imports no database, queue,
settings or table library (their import is what made ``--help`` take seconds). The time
itself is a ``make bench`` figure (tests/bench/test_cli_bench.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from workers.cli.agents import DEFAULT_OPERATOR
from workers.handlers.operators import agents as agent_cases

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("sqlalchemy", "celery", "kombu", "redis", "psycopg", "pydantic", "pydantic_settings",
         "alembic", "rich", "httpx", "solders", "structlog", "matplotlib",
         "workers.bootstrap", "workers.handlers", "persistence")


def test_help_imports_nothing_heavy() -> None:
    code = ("import sys; from workers.cli import app; from typer.main import get_command; "
            "import json, contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    get_command(app).main(['--help'], standalone_mode=False)\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True)
    loaded = json.loads(out.stdout.splitlines()[-1])
    heavy = sorted({m for m in loaded for h in HEAVY if m == h or m.startswith(h + ".")})
    assert heavy == []


def test_help_lists_the_commands_and_the_debug_option() -> None:
    out = subprocess.run([sys.executable, "-m", "workers.cli", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr == ""
    for name in ("--debug", "agents", "signals", "doctor", "run", "services"):
        assert name in out.stdout


def test_the_cli_default_user_is_the_use_cases() -> None:
    assert DEFAULT_OPERATOR == agent_cases.DEFAULT_OPERATOR  # kept apart only for import time


def test_the_ledger_help_lists_the_listings_reasons() -> None:
    from persistence import listings
    from workers.cli import ledger

    assert ledger.CLOSE_REASONS == listings.CLOSE_REASONS
    assert sorted(ledger.TRANSACTION_REASONS) == sorted(listings.TRANSACTION_REASONS)
