"""Live trading with real processes, as deployed (docs/rules.md §12): a keyless ``celery
worker`` (signals, sweeps, maintenance) records each live swap's intent, and ``fleet worker
--live`` — the only process holding WALLET_1 — signs the fake Jupiter's swaps and sends them
to a real Solana runtime (LiteSVM behind a loopback JSON-RPC node, ``tests.live_fakes``;
``SIGNALFLEET_JUPITER_SWAP_URL`` / ``SIGNALFLEET_RPC_URL``). The operator's ``fleet
positions close`` / ``write-off`` and ``fleet trades buy`` run as processes of their own.
Every action leaves the ledger, balances and positions equal to what the chain holds, with
the money invariants.
The pair has a database of its own on the session's Redis server, so the e2e worker never
sees these tasks."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from solders.keypair import Keypair
from sqlalchemy import Engine, update

from domain.signals import Signal
from persistence import models as m
from persistence.cache import PRICES_KEY
from tests.e2e.conftest import Proc, wait_for
from tests.e2e.sweep_helpers import refresh_and_sweep, run_task, wait_idle
from tests.e2e.test_operators_e2e import fleet, ok
from tests.e2e.test_pipeline import set_price
from tests.integration.live_support import (
    FIXED,
    SECRET_B58,
    UNITS,
    Live,
    assert_chain_matches_ledger,
    reset_wallet,
)
from tests.integration.test_live_secrets import assert_clean
from tests.invariants import assert_ledger_invariant, assert_money_conserved
from tests.live_fakes import MINT, LiveChain
from workers.adapters.wallets import load_wallets
from workers.bootstrap import LIVE_KEYS, celery_broker_url

KEYS = {"WALLET_1": SECRET_B58}
SECRET_2 = str(Keypair.from_seed(bytes(range(2, 34))))  # a key no worker of the pair holds
ADDRESS = load_wallets(KEYS).addresses()[0]


@pytest.fixture(scope="module")
def chain() -> Iterator[LiveChain]:
    # The fake Jupiter's swaps use an address lookup table, as Jupiter's do: the worker's
    # client resolves it through the RPC (workers/bootstrap.py) before judging the swap.
    fake = LiveChain()
    fake.fund(ADDRESS)
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


@pytest.fixture
def client(live_redis: str) -> Iterator[redis.Redis]:
    found = redis.Redis.from_url(live_redis, decode_responses=True)
    yield found
    found.close()


@pytest.fixture(scope="module")
def live_sender(live_redis: str) -> Celery:
    return Celery("live-e2e-sender", broker=celery_broker_url(live_redis))


@pytest.fixture(scope="module")
def live_env(stack_env: dict[str, str], chain: LiveChain, live_redis: str) -> dict[str, str]:
    """The deployment's settings for every process of this module, without any key."""
    return {**{k: v for k, v in stack_env.items() if not k.startswith("WALLET_")},
            "SIGNALFLEET_REDIS_URL": live_redis,
            "SIGNALFLEET_JUPITER_SWAP_URL": chain.jupiter_url,
            "SIGNALFLEET_RPC_URL": chain.rpc_url,
            "SIGNALFLEET_LIVE_POLL_SECONDS": "0.05", "SIGNALFLEET_LOG_FORMAT": "json",
            "SIGNALFLEET_LIVE_CONFIRM_TIMEOUT_SECONDS": "1",
            "SIGNALFLEET_LIVE_SUBMITTED_IDLE_SECONDS": "0"}


@pytest.fixture(scope="module")
def pair(live_env: dict[str, str], live_sender: Celery,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proc, Proc]]:
    """The keyless worker (the default queues) and ``fleet worker --live`` with WALLET_1,
    started side by side."""
    tmp = Path(tmp_path_factory.mktemp("live"))
    host = f"{os.getpid()}@{os.uname().nodename}"
    nodes = (f"live-e2e-plain-{host}", f"live-e2e-keyed-{host}")
    procs = (Proc("plain-worker", ["worker", "-c", "2", "-n", nodes[0]], live_env,
                  tmp / "plain-worker.log"),
             Proc("live-worker", ["worker", "--live", "-c", "2", "-n", nodes[1]],
                  {**live_env, **KEYS}, tmp / "live-worker.log"))

    def up() -> bool:
        if any(p.popen.poll() is not None for p in procs):
            return True
        answered = {n for reply in live_sender.control.ping(timeout=0.5) for n in reply}
        return set(nodes) <= answered

    try:
        wait_for(up, 90, "the worker pair to start")
        for p in procs:
            assert p.popen.poll() is None, f"{p.name} exited:\n{p.output()[-3000:]}"
    except AssertionError:
        for p in procs:
            p.stop()
        raise
    yield procs
    for p in procs:
        p.stop()


@pytest.fixture
def lv(clean_db: Engine, chain: LiveChain, client: redis.Redis,
       pair: tuple[Proc, Proc]) -> Live:
    """The module's chain with the wallet back at 10 SOL and no tokens; an empty database;
    no price cached (a late sweep of the test before would act on its last price)."""
    wait_idle(client)
    client.delete(PRICES_KEY)
    reset_wallet(chain, ADDRESS)
    return Live(clean_db, chain, load_wallets(KEYS))


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


def _opened(lv: Live, client: redis.Redis, sender: Celery, name: str,
            config: dict[str, Any]) -> uuid.UUID:
    """A live agent with ``config`` that bought 1,000 tokens for 1 SOL on the chain."""
    agent_id = lv.agent(name, config={**FIXED, **config})
    set_price(client, "0.001")
    buy = _signal(lv, sender, "buy")
    assert wait_for(lambda: _executed(lv, buy), what="the live buy") == ("EXECUTED", "open", None)
    assert_chain_matches_ledger(lv, agent_id)
    return agent_id


def _position(lv: Live) -> Any:
    [row] = lv.rows(m.AgentPosition)
    return row


def _backdate(lv: Live, **columns: timedelta) -> None:
    """Move the position's timestamps into the past (the workers' clock is the wall's)."""
    table = m.AgentPosition.__table__
    with lv.engine.begin() as conn:
        conn.execute(update(table).values(
            **{name: table.c[name] - by for name, by in columns.items()}))


def test_a_live_buy_and_sell_through_the_real_worker(
        lv: Live, client: redis.Redis, live_sender: Celery, pair: tuple[Proc, Proc]) -> None:
    fake = lv.chain
    sent_before = len(fake.sent)
    agent_id: uuid.UUID = lv.agent("e2e-live")
    set_price(client, "0.001")
    buy = _signal(lv, live_sender, "buy")
    assert wait_for(lambda: _executed(lv, buy), what="the live buy") == ("EXECUTED", "open", None)
    fake.lamports_per_unit = Decimal("1.2")
    sell = _signal(lv, live_sender, "sell")
    assert wait_for(lambda: _executed(lv, sell), what="the live sell") == (
        "EXECUTED", "close", None)
    assert [s.status for s in lv.rows(m.SwapSubmission)] == ["confirmed", "confirmed"]
    sent = fake.sent[sent_before:]
    assert len(sent) == 2 and all(s.verified for s in sent)
    [closed] = lv.rows(m.AgentHistoricalSwap)
    assert closed.profit_loss_sol == Decimal("1.2") - Decimal("0.000015") - Decimal("1.000015")
    assert lv.sol_balance(agent_id) == Decimal("10.19997")
    assert fake.lamports(lv.address) == 10_199_970_000  # the chain holds what the ledger says
    assert fake.token_units(lv.address) == 0
    assert_chain_matches_ledger(lv, agent_id)
    plain, keyed = pair
    assert "wallets.loaded" in keyed.output()  # at start (task logs stay in children)
    for proc in pair:
        assert_clean(proc.output(), f"the {proc.name}'s logs")
    assert "live.execute[" not in plain.output()  # the keyless worker never takes a swap


def test_a_swap_left_submitted_is_reconciled_once_by_the_beat_task(
        lv: Live, client: redis.Redis, live_sender: Celery) -> None:
    fake = lv.chain
    fake.land = False
    lv.agent("e2e-reconcile")
    sent_before = len(fake.sent)
    set_price(client, "0.001")
    buy = _signal(lv, live_sender, "buy")
    wait_for(lambda: [s for s in lv.rows(m.SwapSubmission) if s.status == "submitted"],
             what="the swap to be signed and sent")
    time.sleep(2)  # live.execute's confirm window (1 s) has closed: the swap is left behind
    [sub] = lv.rows(m.SwapSubmission)
    assert _executed(lv, buy) is None
    fake.land_now(sub.signature)
    for _ in range(2):
        live_sender.send_task("live.reconcile", queue="maintenance")  # as beat routes it
    assert wait_for(lambda: _executed(lv, buy), what="the reconciled buy") == (
        "EXECUTED", "open", None)
    time.sleep(1)  # the second reconcile run has had its turn
    assert len([t for t in lv.rows(m.AgentTransaction) if t.transaction_type == "SWAP"]) == 1
    assert {s.signature for s in fake.sent[sent_before:]} == {sub.signature}  # never re-signed


@pytest.mark.parametrize(("config", "price", "reason"), [
    ({}, "0.0005", "stop_loss"),  # −50 %: below the default −32 % stop
    ({"staleTrade": {"enabled": True, "minHoldTimeMinutes": 1}}, "0.00102", "stale_trade")])
def test_a_live_stop_loss_or_stale_trade_from_the_sweep_closes_on_the_chain(
        lv: Live, client: redis.Redis, live_sender: Celery, config: dict[str, Any],
        price: str, reason: str) -> None:
    agent_id = _opened(lv, client, live_sender, f"e2e-{reason}", config)
    _backdate(lv, created_at=timedelta(hours=1))  # held an hour: old enough to go stale
    lv.chain.lamports_per_unit = Decimal(price) * 1000
    set_price(client, price)
    run_task(live_sender, client, "prices.refresh")
    for _ in range(2):  # overlapping sweeps: one close intent
        live_sender.send_task("positions.sweep_tokens", args=[[MINT]], queue="sweeps")
    [closed] = wait_for(lambda: lv.rows(m.AgentHistoricalSwap), what=f"the live {reason} close")
    assert closed.close_reason == reason and closed.signal_id is None
    subs = sorted(lv.rows(m.SwapSubmission), key=lambda s: s.created_at)
    assert [(s.kind, s.close_reason, s.status) for s in subs] == [
        ("open", None, "confirmed"), ("close", reason, "confirmed")]
    assert lv.rows(m.AgentPosition) == []
    assert_chain_matches_ledger(lv, agent_id)


def test_live_take_profit_partials_keep_the_moon_bag_which_the_operator_then_closes(
        lv: Live, client: redis.Redis, live_sender: Celery, live_env: dict[str, str]) -> None:
    agent_id = _opened(lv, client, live_sender, "e2e-take-profit", {
        "takeProfit": {"enabled": True, "mode": "aggressive"},
        "stopLoss": {"enabled": False}, "staleTrade": {"enabled": False}})
    # aggressive: +25 % sells 25 %; +110 % reaches +50 % and +100 % (25 % each, the moon bag
    # of 10 % is set aside); +160 % sells the last level's 15 %
    for price, levels, remaining in (("0.0013", 1, 750), ("0.0021", 3, 250),
                                     ("0.0026", 4, 100)):
        lv.chain.lamports_per_unit = Decimal(price) * 1000
        refresh_and_sweep(live_sender, client, price)
        p = wait_for(lambda n=levels: [r for r in lv.rows(m.AgentPosition)
                                       if r.take_profit_levels_hit == n],
                     what=f"the take-profit sale at {price}")[0]
        assert p.remaining_amount == remaining
        if levels == 1:  # partial PnL from the confirmed proceeds
            assert p.realized_profit_sol == Decimal("0.325") - Decimal("0.000015") - Decimal(
                "0.25000375")
        assert_chain_matches_ledger(lv, agent_id)
    assert p.moon_bag_activated and p.moon_bag_amount == Decimal(100)
    sales = [t for t in lv.rows(m.AgentTransaction) if t.is_take_profit]
    assert [t.input_amount for t in sales] == [Decimal(250), Decimal(500), Decimal(150)]
    submitted = len(lv.rows(m.SwapSubmission))
    refresh_and_sweep(live_sender, client, "0.0030")  # levels exhausted: the moon bag stays
    assert len(lv.rows(m.SwapSubmission)) == submitted
    # the operator sells the moon bag by hand: a process without keys records the intent,
    # the live worker signs and sends it
    lv.chain.lamports_per_unit = Decimal(3)
    out = ok(live_env, "positions", "close", str(p.id))
    assert "live close submitted as swap" in out
    [closed] = wait_for(lambda: lv.rows(m.AgentHistoricalSwap), what="the manual live close")
    assert closed.close_reason == "manual" and lv.rows(m.AgentPosition) == []
    # every sale's net proceeds (SOL per 1,000 tokens × tokens, less the fee) − the cost
    proceeds = (Decimal("0.325") + Decimal("1.05") + Decimal("0.39") + Decimal("0.3")
                - 4 * Decimal("0.000015"))
    assert closed.profit_loss_sol == proceeds - Decimal("1.000015")
    assert lv.chain.token_units(lv.address) == 0
    assert_chain_matches_ledger(lv, agent_id)


def test_live_dca_on_a_signal_and_on_a_dip_then_a_write_off(
        lv: Live, client: redis.Redis, live_sender: Celery, live_env: dict[str, str]) -> None:
    agent_id = _opened(lv, client, live_sender, "e2e-dca", {
        "dca": {"enabled": True, "mode": "moderate", "cooldownSeconds": 10},
        "stopLoss": {"enabled": False}})
    set_price(client, "0.0008")  # −20 %: the first level, on a repeated signal
    lv.chain.lamports_per_unit = Decimal("0.8")
    dca = _signal(lv, live_sender, "buy")
    assert wait_for(lambda: _executed(lv, dca), what="the live DCA") == ("EXECUTED", "dca", None)
    p = _position(lv)
    assert (p.purchase_amount, p.dca_count) == (Decimal(1750), 1)
    assert p.total_invested_sol == Decimal("1.60003")  # 1 + 0.6 SOL + two fees
    assert_chain_matches_ledger(lv, agent_id)
    _backdate(lv, last_dca_time=timedelta(minutes=1))  # the cooldown (10 s) is over
    lv.chain.lamports_per_unit = Decimal("0.7")  # a dip, seen by the sweep: the second level
    refresh_and_sweep(live_sender, client, "0.0007")
    p = wait_for(lambda: [r for r in lv.rows(m.AgentPosition) if r.dca_count == 2],
                 what="the live DCA on the dip")[0]
    [_, dip] = sorted((t for t in lv.rows(m.AgentTransaction) if t.is_dca),
                      key=lambda t: t.transaction_time)
    assert dip.output_amount == p.purchase_amount - Decimal(1750)
    assert_chain_matches_ledger(lv, agent_id)
    # no price and no route for the token any more: written off, nothing sent
    sent = len(lv.chain.sent)
    out = ok(live_env, "positions", "write-off", str(p.id))
    assert "written off" in out
    [closed] = lv.rows(m.AgentHistoricalSwap)
    assert (closed.close_reason, closed.profit_loss_sol) == ("burn", -p.total_invested_sol)
    assert len(lv.chain.sent) == sent and lv.rows(m.AgentPosition) == []
    # the SOL is what the chain holds; the written-off tokens stay in the wallet unsold
    assert lv.chain.lamports(lv.address) == lv.sol_balance(agent_id) * 10 ** 9
    assert lv.chain.token_units(lv.address) == p.purchase_amount * UNITS
    assert_ledger_invariant(lv.engine)
    assert_money_conserved(lv.engine)


def test_a_swap_whose_key_another_live_worker_holds_is_never_run_here(
        lv: Live, client: redis.Redis, live_sender: Celery, pair: tuple[Proc, Proc]) -> None:
    """A wallet assigned after the live worker started (its start-up check passed without
    it): a swap to sign for it is retried while another live worker announces the key,
    never signed or failed here; once no worker holds the key it fails, nothing sent."""
    other = Live(lv.engine, lv.chain, load_wallets({"WALLET_2": SECRET_2}))
    # assigned where WALLET_2 is loaded, not in the pair
    outcome = other.signal(other.agent("e2e-key-elsewhere"))
    assert (outcome.status, outcome.action) == ("PENDING", "open")
    sent = len(lv.chain.sent)
    client.sadd(LIVE_KEYS, other.address)  # as a live worker holding WALLET_2 would
    try:
        live_sender.send_task("live.execute", args=[str(outcome.submission_id)], queue="live")
        _, keyed = pair
        wait_for(lambda: keyed.output().count("live.key_held_elsewhere") >= 2, 60,
                 "the swap retried, not run")
        [sub] = other.rows(m.SwapSubmission)
        assert sub.status == "intent" and sub.signature is None
    finally:
        client.srem(LIVE_KEYS, other.address)  # that worker is gone: the key is nowhere
    failed = wait_for(lambda: [s for s in other.rows(m.SwapSubmission) if s.status == "failed"],
                      60, "the swap failed once no worker holds the key")
    assert failed[0].signature is None and len(lv.chain.sent) == sent
    assert _executed(other, int(failed[0].signal_id)) == ("FAILED", "none", "wallet_not_loaded")


def test_a_manual_live_buy_from_the_cli_is_signed_by_the_live_worker(
        lv: Live, client: redis.Redis, live_env: dict[str, str]) -> None:
    """``fleet trades buy`` in a process without keys records the intent on the signal path;
    the live worker signs and sends it; a refused buy leaves no row."""
    agent_id = lv.agent("e2e-manual")
    set_price(client, "0.001")
    out = ok(live_env, "trades", "buy", "e2e-manual", MINT, "--sol", "2", "--reason", "hand")
    assert out.startswith(f"live buy of {MINT} for e2e-manual submitted (signal ")
    [signal] = lv.rows(m.TradingSignal)
    assert (signal.agent_id, signal.amount_sol) == (agent_id, Decimal(2))
    assert wait_for(lambda: _executed(lv, signal.id), what="the manual live buy") == (
        "EXECUTED", "open", None)
    [swap] = [t for t in lv.rows(m.AgentTransaction) if t.transaction_type == "SWAP"]
    assert (swap.input_amount, swap.output_amount, swap.signal_id) == (
        Decimal(2), Decimal(2000), signal.id)
    assert lv.chain.token_units(lv.address) == 2000 * UNITS
    assert_chain_matches_ledger(lv, agent_id)
    rows = {t: lv.rows(t) for t in (m.TradingSignal, m.SwapSubmission, m.AgentTransaction)}
    done = fleet(live_env, "trades", "buy", "e2e-manual", MINT, "--sol",
                 f"{lv.sol_balance(agent_id).normalize():f}")
    assert done.returncode == 2 and "margin for its fees" in done.stderr
    assert {t: lv.rows(t) for t in rows} == rows
    assert_money_conserved(lv.engine)
