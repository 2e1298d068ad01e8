"""Balances from the chain, end to end (docs/rules.md §12): a real ``celery worker`` running the
beat task ``wallets.sync`` and the ``fleet wallets sync`` command, both reading a real Solana
runtime (LiteSVM behind the loopback JSON-RPC node, ``tests.live_fakes``) and writing to the
session's PostgreSQL. The test moves the wallet's SOL and tokens on the chain itself (a deposit,
a withdrawal, tokens leaving); each is found and recorded as an explicit ledger row, so ledger
= balances = chain after each, and the money invariants hold. The worker holds no key: reading
balances needs none. It uses a Redis database of its own, so no other worker takes its tasks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from solders.pubkey import Pubkey
from sqlalchemy import Engine

from domain.ledger import SOL_MINT
from persistence import models as m
from tests.e2e.conftest import ROOT, Proc, answers_ping, start, wait_for
from tests.integration.live_support import SECRET_B58, Live, assert_chain_matches_ledger
from tests.live_fakes import MINT, LiveChain
from workers.adapters.wallets import load_wallets
from workers.bootstrap import celery_broker_url
from workers.handlers.live.swaps import execute_live

LAMPORTS = 10**9
UNITS = 10**6  # the test mint's 6 decimals


@pytest.fixture(scope="module")
def chain() -> Iterator[LiveChain]:
    fake = LiveChain()
    fake.fund(str(load_wallets({"WALLET_1": SECRET_B58}).addresses()[0]))
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def sync_env(stack_env: dict[str, str], chain: LiveChain) -> dict[str, str]:
    """The processes' settings: the loopback RPC, a Redis database of their own (not the e2e
    one, nor test_live_e2e's), and a 1 s settle window after a swap."""
    url = stack_env["SIGNALFLEET_REDIS_URL"]
    base, sep, db = url.rpartition("?db=") if "?db=" in url else url.rpartition("/")
    own = f"{base}{sep}{(int(db) + 2) % 16}"
    redis.Redis.from_url(own).flushdb()
    return {**stack_env, "SIGNALFLEET_REDIS_URL": own, "SIGNALFLEET_RPC_URL": chain.rpc_url,
            "SIGNALFLEET_WALLET_SYNC_SETTLE_SECONDS": "1", "SIGNALFLEET_LOG_FORMAT": "json"}


@pytest.fixture(scope="module")
def sync_sender(sync_env: dict[str, str]) -> Celery:
    return Celery("sync-e2e-sender",
                  broker=celery_broker_url(sync_env["SIGNALFLEET_REDIS_URL"]))


@pytest.fixture(scope="module")
def sync_worker(sync_env: dict[str, str], sync_sender: Celery,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    name = f"sync-e2e-{os.getpid()}@{os.uname().nodename}"
    proc = start("sync-worker", ["worker", "-c", "1", "-n", name, "-Q", "maintenance"],
                 sync_env, Path(tmp_path_factory.mktemp("sync")),
                 lambda p: answers_ping(sync_sender, name))
    yield proc
    proc.stop()


def fleet(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run([sys.executable, "-m", "workers.cli", *args, "--json"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _adjustments(lv: Live) -> list[Any]:
    return sorted((t for t in lv.rows(m.AgentTransaction) if t.adjustment is not None),
                  key=lambda t: t.created_at)


def _ledger(lv: Live, mint: str) -> Decimal:
    return next((b.balance for b in lv.rows(m.AgentBalance) if b.token_address == mint),
                Decimal(0))


def test_the_sync_finds_a_deposit_a_withdrawal_and_tokens_leaving_on_the_chain(
        clean_db: Engine, chain: LiveChain, sync_env: dict[str, str], sync_sender: Celery,
        sync_worker: Proc) -> None:
    lv = Live(clean_db, chain, load_wallets({"WALLET_1": SECRET_B58}))
    agent_id: uuid.UUID = lv.agent("sync-e2e")  # 10 SOL in the ledger, 10 SOL on the chain
    assert execute_live(lv.signal(agent_id).submission_id, lv.deps()) == "confirmed"
    owner = Pubkey.from_string(lv.address)
    assert_chain_matches_ledger(lv, agent_id)  # ledger = balances = chain

    # A deposit just after the swap: the sync waits for the settle window to pass.
    chain.runtime.airdrop(owner, 2 * LAMPORTS)
    skipped = fleet({**sync_env, "SIGNALFLEET_WALLET_SYNC_SETTLE_SECONDS": "3600"},
                    "wallets", "sync")
    assert [(r["status"], r["reason"]) for r in skipped] == [("skipped", "swap_in_flight")]
    assert _adjustments(lv) == []

    sync_sender.send_task("wallets.sync", queue="maintenance")  # the beat task, in the worker
    [deposit] = wait_for(lambda: _adjustments(lv), what="the deposit adjustment")
    assert (deposit.transaction_type, deposit.adjustment, deposit.output_mint,
            deposit.output_amount) == ("DEPOSIT", "deposit", SOL_MINT, Decimal(2))
    assert_chain_matches_ledger(lv, agent_id)  # ledger = balances = chain

    # A withdrawal, found by the operator's command.
    chain.runtime.set_lamports(owner, chain.lamports(lv.address) - 3_500_000_000)
    [synced] = fleet(sync_env, "wallets", "sync")
    assert (synced["status"], synced["adjustments"]) == ("adjusted", "withdrawal -3.5 SOL")
    withdrawal = _adjustments(lv)[-1]
    assert (withdrawal.transaction_type, withdrawal.input_mint, withdrawal.input_amount) == (
        "WITHDRAWAL", SOL_MINT, Decimal("3.5"))
    assert_chain_matches_ledger(lv, agent_id)  # ledger = balances = chain

    # 600 of the 1,000 tokens leave the wallet outside any swap: the position is flagged.
    chain.runtime.add_tokens(chain.runtime.token_account(owner, Pubkey.from_string(MINT)),
                             -600 * UNITS)
    sync_sender.send_task("wallets.sync", queue="maintenance")
    wait_for(lambda: len(_adjustments(lv)) == 3, what="the token adjustment")
    tokens = _adjustments(lv)[-1]
    assert (tokens.transaction_type, tokens.adjustment, tokens.input_mint,
            tokens.input_amount) == ("ADJUSTMENT", "unexplained", MINT, Decimal(600))
    [position] = fleet(sync_env, "positions")
    assert (Decimal(position["tokens_left"]), Decimal(position["holding"])) == (
        Decimal(600), Decimal(400))
    assert_chain_matches_ledger(lv, agent_id)  # ledger = balances = chain
    checks = {c["name"]: c for c in json.loads(subprocess.run(
        [sys.executable, "-m", "workers.cli", "doctor", "--json"], env=sync_env, cwd=ROOT,
        capture_output=True, text=True, timeout=60).stdout)}
    assert checks["positions"]["status"] == "WARN"
    assert position["id"] in checks["positions"]["detail"]
    assert "write-off" in checks["positions"]["fix"]

    # Nothing left to record: a second round writes nothing.
    assert [r["status"] for r in fleet(sync_env, "wallets", "sync")] == ["balanced"]
    assert len(_adjustments(lv)) == 3
