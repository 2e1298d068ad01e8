"""Live trading with real processes: a ``celery worker`` holding WALLET_1 signs the fake
Jupiter's swaps and sends them to a real Solana runtime (LiteSVM behind a loopback JSON-RPC
node, ``tests.live_fakes``; ``SIGNALFLEET_JUPITER_SWAP_URL`` / ``SIGNALFLEET_RPC_URL``). The
worker has a database of its own on the session's Redis server, so the e2e worker never sees
these tasks."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from celery import Celery
from solders.keypair import Keypair
from sqlalchemy import Engine

from domain.signals import Signal
from persistence import models as m
from tests.e2e.conftest import Proc, answers_ping, start, wait_for
from tests.integration.live_support import SECRET_B58, Live, close_chains, live
from tests.integration.test_live_secrets import assert_clean
from tests.invariants import assert_ledger_invariant
from tests.live_fakes import MINT, LiveChain
from workers.adapters.prices import StaticPriceFeed
from workers.bootstrap import celery_broker_url

__all__ = ["close_chains"]  # stops the loopback servers live() starts


@pytest.fixture(scope="module")
def chain() -> Iterator[LiveChain]:
    # The fake Jupiter's swaps use an address lookup table, as Jupiter's do: the worker's
    # client resolves it through the RPC (workers/bootstrap.py) before judging the swap.
    fake = LiveChain()
    fake.fund(str(Keypair.from_base58_string(SECRET_B58).pubkey()))
    yield fake
    fake.close()


def _own_redis(url: str) -> str:
    """Another database than the e2e one, on the session's own Redis server."""
    base, _, db = url.rpartition("?db=") if "?db=" in url else url.rpartition("/")
    other = 1 + int(db) % 15
    return f"{base}?db={other}" if "?db=" in url else f"{base}/{other}"


@pytest.fixture(scope="module")
def live_redis(redis_url: str) -> str:
    url = _own_redis(redis_url)
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture(scope="module")
def live_sender(live_redis: str) -> Celery:
    return Celery("live-e2e-sender", broker=celery_broker_url(live_redis))


@pytest.fixture(scope="module")
def live_worker(stack_env: dict[str, str], chain: LiveChain, live_redis: str,
                live_sender: Celery, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    env = {**stack_env, "SIGNALFLEET_REDIS_URL": live_redis, "WALLET_1": SECRET_B58,
           "SIGNALFLEET_JUPITER_SWAP_URL": chain.jupiter_url,
           "SIGNALFLEET_RPC_URL": chain.rpc_url,
           "SIGNALFLEET_LIVE_POLL_SECONDS": "0.05", "SIGNALFLEET_LOG_FORMAT": "json",
           "SIGNALFLEET_LIVE_CONFIRM_TIMEOUT_SECONDS": "1",
           "SIGNALFLEET_LIVE_SUBMITTED_IDLE_SECONDS": "0"}
    name = f"live-e2e-{os.getpid()}@{os.uname().nodename}"
    proc = start("live-worker", ["worker", "-c", "2", "-n", name, "-Q",
                                 "signals,sweeps,maintenance,live"], env,
                 Path(tmp_path_factory.mktemp("live")), lambda p: answers_ping(live_sender, name))
    yield proc
    proc.stop()


def _signal(lv: Live, sender: Celery, signal_type: str) -> int:
    with lv.uow() as uow:
        signal_id, _ = uow.signals.add(Signal(MINT, signal_type, 50), datetime.now(UTC))
        uow.commit()
    sender.send_task("signals.fan_out", args=[signal_id], queue="signals")
    return int(signal_id)


def _executed(lv: Live, signal_id: int) -> tuple[str, str, str | None] | None:
    for row in lv.rows(m.SignalExecution):
        if row.signal_id == signal_id and row.status != "PENDING":
            return row.status, row.action, row.reason
    return None


def test_a_live_buy_and_sell_through_the_real_worker(
        clean_db: Engine, chain: LiveChain, live_redis: str, live_sender: Celery,
        live_worker: Proc) -> None:
    fake = chain
    lv = live(clean_db)
    lv.chain = fake
    agent_id: uuid.UUID = lv.agent("e2e-live")
    client = redis.Redis.from_url(live_redis, decode_responses=True)
    StaticPriceFeed(client, lv.clock).set_price(MINT, Decimal("0.001"))
    buy = _signal(lv, live_sender, "buy")
    assert wait_for(lambda: _executed(lv, buy), what="the live buy") == ("EXECUTED", "open", None)
    fake.lamports_per_unit = Decimal("1.2")
    sell = _signal(lv, live_sender, "sell")
    assert wait_for(lambda: _executed(lv, sell), what="the live sell") == (
        "EXECUTED", "close", None)
    assert [s.status for s in lv.rows(m.SwapSubmission)] == ["confirmed", "confirmed"]
    assert len(fake.sent) == 2 and all(s.verified for s in fake.sent)
    [closed] = lv.rows(m.AgentHistoricalSwap)
    assert closed.profit_loss_sol == Decimal("1.2") - Decimal("0.000015") - Decimal("1.000015")
    assert lv.sol_balance(agent_id) == Decimal("10.19997")
    assert fake.lamports(lv.address) == 10_199_970_000  # the chain holds what the ledger says
    assert fake.token_units(lv.address) == 0
    assert_ledger_invariant(clean_db)
    assert "wallets.loaded" in live_worker.output()  # at start (task logs stay in children)
    assert_clean(live_worker.output(), "the worker's logs")


def test_a_swap_left_submitted_is_reconciled_once_by_the_beat_task(
        clean_db: Engine, chain: LiveChain, live_redis: str, live_sender: Celery,
        live_worker: Proc) -> None:
    fake = chain
    fake.land, fake.lamports_per_unit = False, Decimal(1)
    lv = live(clean_db)
    lv.chain = fake
    lv.agent("e2e-reconcile")
    sent_before = len(fake.sent)
    StaticPriceFeed(redis.Redis.from_url(live_redis), lv.clock).set_price(MINT, Decimal("0.001"))
    buy = _signal(lv, live_sender, "buy")
    wait_for(lambda: [s for s in lv.rows(m.SwapSubmission) if s.status == "submitted"],
             what="the swap to be signed and sent")
    time.sleep(2)  # live.execute's confirm window (1 s) has closed: the swap is left behind
    [sub] = lv.rows(m.SwapSubmission)
    assert _executed(lv, buy) is None
    fake.land_now(sub.signature)
    for _ in range(2):
        live_sender.send_task("live.reconcile", queue="live")
    assert wait_for(lambda: _executed(lv, buy), what="the reconciled buy") == (
        "EXECUTED", "open", None)
    time.sleep(1)  # the second reconcile run has had its turn
    assert len([t for t in lv.rows(m.AgentTransaction) if t.transaction_type == "SWAP"]) == 1
    assert {s.signature for s in fake.sent[sent_before:]} == {sub.signature}  # never re-signed
    fake.land = True


def test_a_live_stop_loss_from_the_sweep_closes_through_live_execute(
        clean_db: Engine, chain: LiveChain, live_redis: str, live_sender: Celery,
        live_worker: Proc) -> None:
    fake = chain
    fake.land, fake.lamports_per_unit = True, Decimal(1)
    lv = live(clean_db)
    lv.chain = fake
    lv.agent("e2e-live-stop")
    feed = StaticPriceFeed(redis.Redis.from_url(live_redis), lv.clock)
    feed.set_price(MINT, Decimal("0.001"))
    buy = _signal(lv, live_sender, "buy")
    assert wait_for(lambda: _executed(lv, buy), what="the live buy") == ("EXECUTED", "open", None)
    feed.set_price(MINT, Decimal("0.0005"))  # −50 %: below the default −32 % stop
    live_sender.send_task("prices.refresh", queue="sweeps")
    wait_for(lambda: lv.rows(m.TokenPrice), what="the refreshed price")
    for _ in range(2):  # overlapping sweeps: one close intent
        live_sender.send_task("positions.sweep_tokens", args=[[MINT]], queue="sweeps")
    [closed] = wait_for(lambda: lv.rows(m.AgentHistoricalSwap), what="the live stop-loss close")
    assert closed.close_reason == "stop_loss" and closed.signal_id is None
    subs = sorted(lv.rows(m.SwapSubmission), key=lambda s: s.created_at)
    assert [(s.kind, s.close_reason, s.status) for s in subs] == [
        ("open", None, "confirmed"), ("close", "stop_loss", "confirmed")]
    assert lv.rows(m.AgentPosition) == []
    assert_ledger_invariant(clean_db)
