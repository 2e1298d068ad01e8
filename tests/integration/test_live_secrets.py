"""No wallet secret ever leaves memory: every live code path runs with a known key (and bad
and duplicate keys beside it), then logs, exceptions, reprs, every text column of every
table and the ``fleet wallets`` output are scanned for every text form of the secrets."""

from __future__ import annotations

import base64
import json
import logging
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
import sqlalchemy as sa
from solders.keypair import Keypair
from sqlalchemy import Engine

from persistence.models import Base
from tests.integration.live_support import SECRET_B58, Live, close_chains, live
from tests.services import ROOT
from tests.unit.adapters.conftest import unsigned_tx_b64
from workers import logging as fleet_logging
from workers.adapters.wallets import load_wallets, redaction_strings
from workers.handlers.live.reconcile import reconcile
from workers.handlers.live.swaps import execute_live
from workers.handlers.operators.agents import NewAgent, create_agent
from workers.handlers.operators.wallets import assign, list_wallets

__all__ = ["close_chains"]  # the fixture that stops each test's loopback server
KEY = Keypair.from_base58_string(SECRET_B58)
# Sensitive too: a mistyped copy of the key, and a key of the wrong length.
BAD_KEY = SECRET_B58[:-2] + ("11" if not SECRET_B58.endswith("11") else "22")
SHORT_KEY = json.dumps(list(bytes(KEY))[:63])
ENV = {"WALLET_1": SECRET_B58, "WALLET_2": BAD_KEY, "WALLET_3": json.dumps(list(bytes(KEY))),
       "WALLET_4": SHORT_KEY}


def secret_forms() -> set[str]:
    secret = bytes(KEY)
    forms = redaction_strings(load_wallets({"WALLET_1": SECRET_B58}))
    forms |= {base64.b64encode(secret).decode(), base64.b64encode(secret[:32]).decode(),
              BAD_KEY, SHORT_KEY, str(list(secret)), str(list(secret[:32]))}
    return forms


def assert_clean(text: str, where: str) -> None:
    leaked = sum(form in text for form in secret_forms())  # never print the form itself
    assert leaked == 0, f"{leaked} secret form(s) appear in {where}"


@pytest.fixture
def unredacted_logs(capfd: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """JSON logs to stderr with no registered secrets: a leak would show, not be scrubbed."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_secrets = set(fleet_logging._extra_secrets)
    fleet_logging._extra_secrets.clear()
    fleet_logging.configure_logging("json", "DEBUG")
    try:
        yield capfd
    finally:
        root.handlers[:], root.level = saved_handlers, saved_level
        fleet_logging._extra_secrets.update(saved_secrets)


def _every_path(lv: Live) -> list[BaseException]:
    """Buy, sell, crash + reconcile, expiry, on-chain error, 4xx, retries, lost intent."""
    agent_id = lv.agent()
    assert execute_live(lv.signal(agent_id).submission_id, lv.deps()) == "confirmed"
    lv.chain.failures = {"quote": [429, httpx.ReadTimeout("slow")], "sendTransaction": [503]}
    assert execute_live(lv.signal(agent_id, "sell").submission_id, lv.deps()) == "confirmed"
    lv.chain.failures = {"quote": [400]}
    assert execute_live(lv.signal(agent_id).submission_id, lv.deps()) == "failed"
    lv.chain.onchain_error = 1
    assert execute_live(lv.signal(agent_id).submission_id, lv.deps()) == "failed"
    lv.chain.onchain_error, lv.chain.land = None, False
    lv.config = type(lv.config)(confirm_timeout_s=3, poll_s=1, resend_s=1)
    assert execute_live(lv.signal(agent_id).submission_id, lv.deps()) == "submitted"
    lv.chain.block_height += 1_000
    lv.clock.advance(1)
    assert reconcile(lv.deps(idle=0, grace=0)) == {"expired": 1}
    lv.signal(agent_id)
    lv.clock.advance(1)
    assert reconcile(lv.deps(idle=0, grace=0)) == {"failed": 1}
    return _errors(lv)


def _errors(lv: Live) -> list[BaseException]:
    wallet = lv.registry.get(lv.address)
    caught: list[BaseException] = []
    attempts = [lambda: wallet.sign_transaction(unsigned_tx_b64(Keypair().pubkey())),
                lambda: wallet.sign_transaction("bm90IGEgdHg="),
                lambda: lv.registry.get(SECRET_B58), lambda: lv.registry.get(BAD_KEY),
                lambda: lv.registry.get(base64.b64encode(bytes(KEY)[:32]).decode()),
                lambda: pickle.dumps(wallet),
                lambda: assign(lv.uow(), lv.rows(Base.metadata.tables["agents"])[0].id,
                               SECRET_B58, lv.registry)]
    for attempt in attempts:
        with pytest.raises(Exception) as info:
            attempt()
        caught.append(info.value)
    return caught


def _database_text(engine: Engine) -> str:
    chunks = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(sa.text(f"SELECT CAST(t AS text) FROM {table.name} AS t"))
            chunks.extend(row[0] for row in rows)
    assert any("confirmed" in c for c in chunks)  # the scan sees the live rows
    return "\n".join(chunks)


def test_no_secret_in_logs_exceptions_reprs_or_the_database(
        clean_db: Engine, unredacted_logs: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    lv = live(clean_db)
    lv.registry = load_wallets(ENV)
    assert lv.registry.problems == ("WALLET_2: not a valid key",
                                    "WALLET_3: duplicate of WALLET_1; skipped",
                                    "WALLET_4: not a valid key")
    errors = _every_path(lv)
    for exc in errors:
        assert_clean(f"{exc!s} {exc!r} {exc.__cause__!r} {exc.__context__!r}", "an exception")
    wallet = lv.registry.get(lv.address)
    shown = [lv.registry, wallet, lv.deps(), lv.deps().venue,
             list_wallets(lv.uow(), {lv.address: "WALLET_1"})]
    assert_clean(" ".join(f"{x!s} {x!r}" for x in shown), "a repr")
    assert_clean(_database_text(clean_db), "the database")
    out, err = unredacted_logs.readouterr()
    assert "live.swap_confirmed" in err and "wallets.problem" in err
    assert "live.swap_confirmed" in caplog.text and "http.retry" in caplog.text
    assert_clean(out + err + caplog.text, "the logs")


def _fleet(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workers.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_fleet_wallets_assign_and_list_show_addresses_only(
        clean_db: Engine, database_url: str, redis_url: str) -> None:
    lv = live(clean_db)
    agent_id = create_agent(lv.uow(), lv.clock, NewAgent(name="cli-agent", mode="live"))
    other_id = create_agent(lv.uow(), lv.clock, NewAgent(name="second", mode="live"))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("SIGNALFLEET_",
                                                                          "WALLET_"))},
           "SIGNALFLEET_DATABASE_URL": database_url, "SIGNALFLEET_REDIS_URL": redis_url,
           "COLUMNS": "200", **ENV}
    done = _fleet(env, "wallets", "assign", "--agent", str(agent_id), "--address", lv.address,
                  "--deposit", "5")
    taken = _fleet(env, "wallets", "assign", "--agent", str(other_id), "--address", lv.address)
    pasted = _fleet(env, "wallets", "assign", "--agent", str(other_id), "--address", SECRET_B58)
    listed = _fleet(env, "wallets", "list", "--json")
    table = _fleet(env, "wallets", "list")
    assert done.returncode == 0 and lv.address in done.stdout, done.stderr
    assert lv.sol_balance(agent_id) == Decimal(5)
    assert taken.returncode == 2 and "already used by agent" in taken.stderr
    assert pasted.returncode == 2 and "not the address of a loaded wallet" in pasted.stderr
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [{
        "address": lv.address, "source": "WALLET_1", "loaded": True,
        "agent_id": str(agent_id), "agent_name": "cli-agent"}]
    assert lv.address in table.stdout and "WALLET_2: not a valid key" in table.stderr
    for run in (done, taken, pasted, listed, table):
        assert_clean(run.stdout + run.stderr, "the CLI output")
