"""Scenario: the live worker dies in the middle of a take-profit sale (docs/rules.md §12). The
sweep on the keyless worker records the sale's intent; ``fleet worker --live`` signs it,
commits the signature, sends it and is SIGKILLed (main process and pool) while it waits for
the chain. The sale lands with no worker alive; the restarted live worker receives the same
``live.execute`` again (the visibility timeout) and finds the signature, not the intent: it
never signs a second sale. Exactly one sale is on the chain (a real SVM behind the loopback
RPC) and in the ledger, which equals what the chain holds."""

from __future__ import annotations

import json
import os
import signal
from decimal import Decimal
from typing import Any

import pytest
import redis
from celery import Celery
from sqlalchemy import Engine

from persistence import models as m
from tests.chaos.fleet import Fleet, settle
from tests.chaos.helpers import payload, push_all, set_prices
from tests.chaos.test_worker_kills import received
from tests.e2e.conftest import wait_for
from tests.integration.live_support import (
    FIXED,
    SECRET_B58,
    UNITS,
    Live,
    assert_chain_matches_ledger,
    close_chains,
    live,
)
from tests.live_fakes import MINT

__all__ = ["close_chains"]  # stops the loopback server live() starts

TAKE_PROFIT = {**FIXED, "takeProfit": {"enabled": True, "mode": "aggressive"},
               "stopLoss": {"enabled": False}, "staleTrade": {"enabled": False}}


def live_worker_env(lv: Live) -> dict[str, str]:
    """WALLET_1 and the chain, with time to be killed while confirming: the confirm window
    (15 s) inside the task's time limits."""
    return {"WALLET_1": SECRET_B58, "SIGNALFLEET_JUPITER_SWAP_URL": lv.chain.jupiter_url,
            "SIGNALFLEET_RPC_URL": lv.chain.rpc_url, "SIGNALFLEET_LIVE_POLL_SECONDS": "0.05",
            "SIGNALFLEET_LIVE_CONFIRM_TIMEOUT_SECONDS": "15",
            "SIGNALFLEET_TASK_SOFT_TIME_LIMIT_SECONDS": "20",
            "SIGNALFLEET_TASK_TIME_LIMIT_SECONDS": "25"}


def sale(lv: Live) -> Any:
    found = [s for s in lv.rows(m.SwapSubmission) if s.kind == "sell"]
    return found[0] if found else None


@pytest.mark.parametrize("victim", ["child", pytest.param("main", marks=pytest.mark.chaos_long)])
def test_a_sigkill_during_a_live_take_profit_sale_leaves_exactly_one_sale(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet,
        victim: str) -> None:
    lv = live(chaos)
    agent_id = lv.agent("chaos-live-tp", config=TAKE_PROFIT)
    env = live_worker_env(lv)
    fleet.start_worker("live", live=True, **env)
    set_prices(e2e_redis, [MINT], "0.001")
    push_all(e2e_redis, [payload(MINT, 0)])
    wait_for(lambda: lv.rows(m.AgentPosition), 60, "the live buy")
    opened = len(lv.chain.sent)
    lv.chain.land, lv.chain.lamports_per_unit = False, Decimal("1.3")  # held in flight
    set_prices(e2e_redis, [MINT], "0.0013")  # +30 %: the first level sells 25 %
    sender.send_task("prices.refresh", queue="sweeps")
    wait_for(lambda: any(p.price_sol == Decimal("0.0013") for p in lv.rows(m.TokenPrice)),
             what="the refreshed price")
    sender.send_task("positions.sweep_tokens", args=[[MINT]], queue="sweeps")
    signed = wait_for(lambda: (s := sale(lv)) and s.status == "submitted"
                      and len(lv.chain.sent) > opened and s, 60, "the sale signed and sent")
    [task_id] = [json.loads(v)[0]["headers"]["id"] for v in e2e_redis.hvals("unacked")
                 if '"live.execute"' in v]  # delivered, not acknowledged: confirming
    if victim == "main":  # the container dies: the visibility timeout returns the message
        fleet.kill_worker("live")
    else:  # the process running the sale dies: its main process requeues the message
        for pid in fleet.pool_children("live"):
            os.kill(pid, signal.SIGKILL)
    assert sale(lv).status == "submitted" and position(lv).take_profit_levels_hit == 0
    lv.chain.land_now(signed.signature)  # the sale lands while no live worker is alive
    lv.chain.land = True
    if victim == "main":
        fleet.start_worker("live", live=True, **env)  # the message comes back to it
    wait_for(lambda: position(lv).take_profit_levels_hit == 1, 90, "the sale recorded")
    settle(chaos, sender, e2e_redis, signals=1)
    assert received(fleet, task_id, "live") >= 2  # run again after the kill
    assert sale(lv).status == "confirmed"
    signatures = {s.signature for s in lv.chain.sent[opened:]}
    assert signatures == {signed.signature}  # re-sent the same bytes at most: one sale
    assert lv.chain.token_units(lv.address) == 750 * UNITS
    sales = [t for t in lv.rows(m.AgentTransaction) if t.is_take_profit]
    assert [(t.input_amount, t.transaction_hash) for t in sales] == [
        (Decimal(250), signed.signature)]
    assert position(lv).remaining_amount == Decimal(750)
    assert_chain_matches_ledger(lv, agent_id)


def position(lv: Live) -> Any:
    [row] = lv.rows(m.AgentPosition)
    return row
