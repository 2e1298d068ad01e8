"""The CLI as a newcomer meets it (real processes on the test database and Redis): every
failure to reach PostgreSQL, Redis or a port is one line with the fix and a non-zero exit
code (the traceback only with ``--debug``); commands are quiet on stderr; agent names are
unique per user; a live agent needs a wallet it can sign with; after ``fleet services stop``
no command starts the embedded servers again."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.integration.live_support import SECRET_B58
from tests.integration.test_ops import ROOT, fleet, fleet_env, free_port
from tests.services import create_database, drop_database
from workers.embedded import STOPPED_MARKER, allow_start, stop_embedded

MINT = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_database_down_is_one_line_naming_it_and_the_fix(redis_url: str,
                                                         tmp_path: Path) -> None:
    down = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    result = fleet(fleet_env(down, redis_url, tmp_path), "agents", "list")
    line = one_error_line(result)
    assert result.returncode == 4 and result.stdout == ""
    assert "PostgreSQL unreachable" in line and "Connection refused" in line
    assert "SIGNALFLEET_DATABASE_URL" in line and "fleet doctor" in line
    debug = fleet(fleet_env(down, redis_url, tmp_path), "--debug", "agents", "list")
    assert debug.returncode != 0 and "Traceback" in debug.stderr
    assert len(debug.stderr.splitlines()) > 20


def test_redis_down_is_one_line_naming_it_and_the_fix(database_url: str,
                                                      tmp_path: Path) -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"
    result = fleet(fleet_env(database_url, down, tmp_path), "signals", "push", "--token",
                   MINT, "--type", "buy", "--strength", "70")
    line = one_error_line(result)
    assert result.returncode == 4 and result.stdout == ""
    assert "Redis unreachable" in line and "SIGNALFLEET_REDIS_URL" in line


def test_a_busy_flower_port_is_one_line_naming_the_port(database_url: str, redis_url: str,
                                                        tmp_path: Path, listening: int) -> None:
    env = {**fleet_env(database_url, redis_url, tmp_path), "SIGNALFLEET_FLOWER_USER": "ops",
           "SIGNALFLEET_FLOWER_PASSWORD": "qV7-rT2xLm9pWc4zHs"}
    result = fleet(env, "flower", "--port", str(listening))
    line = one_error_line(result)
    assert result.returncode == 4
    assert f"port {listening} on 127.0.0.1 is already in use" in line
    assert "SIGNALFLEET_FLOWER_PORT" in line


def test_a_busy_http_ingest_port_is_one_line(database_url: str, redis_url: str,
                                             tmp_path: Path, listening: int) -> None:
    result = fleet(fleet_env(database_url, redis_url, tmp_path), "http-ingest", "--port",
                   str(listening))
    assert result.returncode == 4 and f"port {listening}" in one_error_line(result)


def test_commands_write_nothing_on_stderr(database_url: str, redis_url: str, clean_db: Engine,
                                          tmp_path: Path) -> None:
    env = fleet_env(database_url, redis_url, tmp_path)  # SIGNALFLEET_LOG_LEVEL=DEBUG
    for args in (["agents", "list"], ["wallets", "list"], ["positions"], ["report"],
                 ["agents", "create", "--name", "quiet-one"], ["balances", "--json"]):
        result = fleet(env, *args)
        assert result.returncode == 0, result.stderr
        assert result.stderr == "", (args, result.stderr)


def test_agent_names_are_unique_per_user(database_url: str, redis_url: str, clean_db: Engine,
                                         tmp_path: Path) -> None:
    env = fleet_env(database_url, redis_url, tmp_path)
    assert fleet(env, "agents", "create", "--name", "demo", "--deposit", "20").returncode == 0
    again = fleet(env, "agents", "create", "--name", "demo", "--deposit", "10")
    assert again.returncode == 2 and again.stdout == ""
    assert one_error_line(again) == ("error: name: this user already has an agent named "
                                     "'demo': choose another name")
    other = fleet(env, "agents", "create", "--name", "demo", "--user", "someone@example.com")
    assert other.returncode == 0, other.stderr
    with clean_db.connect() as conn:  # the refused one wrote nothing: no deposit, no wallet
        assert conn.execute(text("SELECT count(*) FROM agents")).scalar_one() == 2
        assert conn.execute(text("SELECT count(*) FROM agent_wallets")).scalar_one() == 2
        assert conn.execute(text("SELECT sum(output_amount) FROM agent_transactions")
                            ).scalar_one() == 20
    ambiguous = fleet(env, "positions", "--agent", "demo")
    assert ambiguous.returncode == 2 and "give the id" in one_error_line(ambiguous)


def test_a_live_agent_needs_a_loaded_unused_wallet(database_url: str, redis_url: str,
                                                   clean_db: Engine, tmp_path: Path) -> None:
    from solders.keypair import Keypair

    address = str(Keypair.from_base58_string(SECRET_B58).pubkey())
    env = fleet_env(database_url, redis_url, tmp_path)
    bare = fleet(env, "agents", "create", "--name", "live-one", "--mode", "live")
    assert bare.returncode == 2
    assert "WALLET_1" in one_error_line(bare) and "--wallet" in bare.stderr
    unloaded = fleet(env, "agents", "create", "--name", "live-one", "--mode", "live",
                     "--wallet", address)
    assert unloaded.returncode == 2 and "not the address of a loaded wallet" in unloaded.stderr
    loaded = {**env, "WALLET_1": SECRET_B58}
    made = fleet(loaded, "agents", "create", "--name", "live-one", "--mode", "live",
                 "--wallet", address)
    assert made.returncode == 0, made.stderr
    taken = fleet(loaded, "agents", "create", "--name", "live-two", "--mode", "live",
                  "--wallet", address)
    assert taken.returncode == 2 and "already the live wallet of agent" in taken.stderr
    with clean_db.connect() as conn:
        rows = conn.execute(text("SELECT a.name, w.wallet_address FROM agents a JOIN "
                                 "agent_wallets w ON w.agent_id = a.id "
                                 "WHERE w.wallet_type = 'live'")).all()
        assert [tuple(r) for r in rows] == [("live-one", address)]
        assert conn.execute(text("SELECT count(*) FROM agents")).scalar_one() == 1
    everything = bare.stderr + unloaded.stderr + made.stdout + made.stderr + taken.stderr
    assert SECRET_B58 not in everything


def test_after_services_stop_no_command_starts_the_embedded_servers(tmp_path: Path) -> None:
    var = tmp_path / "var"
    assert stop_embedded(var) == []  # nothing ran; the stop is remembered
    env = {k: v for k, v in fleet_env("", "", var).items()
           if k not in ("SIGNALFLEET_DATABASE_URL", "SIGNALFLEET_REDIS_URL")}
    for args in (["agents", "list"], ["doctor"], ["signals", "list"]):
        result = fleet(env, *args)
        line = one_error_line(result)
        assert result.returncode == 4, result.stderr
        assert "stopped (`fleet services stop`)" in line and "fleet services up" in line
    assert sorted(p.name for p in var.iterdir()) == [STOPPED_MARKER]  # nothing started
    allow_start(var)
    assert not (var / STOPPED_MARKER).exists()


def test_a_listing_refuses_an_example_database_password_as_every_command_does(
        redis_url: str, tmp_path: Path) -> None:
    """The listing reads its URL without the settings library (workers/environment.py) and
    still refuses what get_settings refuses, before connecting, in the same line."""
    url = "postgresql+psycopg://sf:change-me@127.0.0.1:1/sf"
    results = [fleet(fleet_env(url, redis_url, tmp_path), *args)
               for args in (["agents", "list"], ["doctor"])]
    lines = [one_error_line(result) for result in results]
    assert [r.returncode for r in results] == [1, 1] and lines[0] == lines[1]
    assert "SIGNALFLEET_DATABASE_URL is an example password" in lines[0]
    assert "change-me" not in results[0].stderr + results[0].stdout


def test_a_database_behind_head_is_refused_in_one_line(servers, redis_url: str,  # type: ignore[no-untyped-def]
                                                       tmp_path: Path) -> None:
    empty = create_database(servers.admin_database_url, prefix="sf_behind")
    try:
        result = fleet(fleet_env(empty, redis_url, tmp_path), "agents", "list")
    finally:
        drop_database(servers.admin_database_url, empty)
    line = one_error_line(result)
    assert result.returncode == 3 and "fleet db upgrade" in line and "empty state" in line


def test_db_current_names_both_revisions_and_reads_a_database_behind_head(  # type: ignore[no-untyped-def]
        servers, database_url: str, redis_url: str, clean_db: Engine, tmp_path: Path) -> None:
    from persistence.schema import head_revision

    empty = create_database(servers.admin_database_url, prefix="sf_current")
    try:
        behind = fleet(fleet_env(empty, redis_url, tmp_path), "db", "current")
    finally:
        drop_database(servers.admin_database_url, empty)
    at_head = fleet(fleet_env(database_url, redis_url, tmp_path), "db", "current")
    assert (behind.returncode, behind.stderr) == (0, "")
    assert behind.stdout == f"database: empty; code head: {head_revision()}\n"
    assert at_head.stdout == f"database: {head_revision()}; code head: {head_revision()}\n"


# What only a network, queue or chain call needs, the ORM, the logging set-up and the
# settings library: a listing must not pay for them at start-up (it reads over one plain
# psycopg connection, persistence/read_connection.py, to the database that
# workers/environment.py finds; make bench times it).
NOT_FOR_A_LISTING = ("httpx", "redis", "solders", "celery", "kombu", "alembic", "sqlalchemy",
                     "structlog", "persistence.models", "workers.adapters",
                     "workers.handlers.shared.deps", "pydantic", "pydantic_settings",
                     "workers.settings", "workers.bootstrap", "pgserver")


@pytest.mark.parametrize("listing", [["agents", "list"], ["trades"], ["transactions"],
                                     ["keys", "list"]])
def test_a_listing_imports_only_what_a_database_query_needs(listing: list[str],
                                                            database_url: str, redis_url: str,
                                                            clean_db: Engine,
                                                            tmp_path: Path) -> None:
    code = ("import json, sys\nfrom typer.main import get_command\nfrom workers.cli import app\n"
            f"get_command(app).main({[*listing, '--json']!r}, standalone_mode=False)\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], env=fleet_env(database_url, redis_url,
                                                                     tmp_path),
                         cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    loaded = json.loads(out.stdout.splitlines()[-1])
    assert "psycopg" in loaded and "persistence.schema" in loaded  # it did query
    heavy = sorted({m for m in loaded for h in NOT_FOR_A_LISTING
                    if m == h or m.startswith(h + ".")})
    assert heavy == []
