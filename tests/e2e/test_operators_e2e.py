"""The operator's actions on a running fleet: real worker and ingestor processes, each ``fleet``
command a real process of its own. The ``pipeline`` fixture checks the ledger, balance and
money invariants after each test."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import uuid
from decimal import Decimal

import redis
from sqlalchemy import Engine, func, select

from persistence import models as m
from tests.e2e.conftest import ROOT, wait_for
from tests.e2e.test_pipeline import (
    FIXED_SIZE,
    agent,
    push,
    set_price,
    signal_done,
    sol_balance,
)


def fleet(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workers.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def ok(env: dict[str, str], *args: str) -> str:
    done = fleet(env, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def open_positions(engine: Engine, agent_id: uuid.UUID) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(m.AgentPosition)
                                .where(m.AgentPosition.agent_id == agent_id)).scalar_one())


def test_deposit_withdraw_archive_and_the_listings_on_a_running_fleet(
        pipeline: Engine, e2e_redis: redis.Redis, stack_env: dict[str, str]) -> None:
    trader = agent(pipeline, "operated", "1", FIXED_SIZE)
    assert "balance 11 SOL" in ok(stack_env, "agents", "deposit", str(trader), "10")

    set_price(e2e_redis, "0.001")
    push(e2e_redis, symbol="BONK")
    wait_for(lambda: signal_done(pipeline, 1), what="the buy")
    assert open_positions(pipeline, trader) == 1
    cash = sol_balance(pipeline, trader)  # 11 − 2 SOL bought − the paper network fee

    refused = fleet(stack_env, "agents", "withdraw", str(trader), "100")
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[-1] == (f"error: amount: only {cash.normalize():f} SOL "
                                               "is available (asked 100)")
    refused = fleet(stack_env, "agents", "archive", str(trader))
    assert refused.returncode == 2 and "1 open position(s) (BONK)" in refused.stderr

    ok(stack_env, "agents", "withdraw", str(trader), "4")
    assert sol_balance(pipeline, trader) == cash - 4

    push(e2e_redis, signal_type="sell")
    wait_for(lambda: signal_done(pipeline, 2), what="the sell")
    assert open_positions(pipeline, trader) == 0
    ok(stack_env, "agents", "rename", str(trader), "retired")
    assert "archived" in ok(stack_env, "agents", "archive", str(trader))

    push(e2e_redis, symbol="BONK")  # an archived agent receives no signal any more
    wait_for(lambda: signal_done(pipeline, 3), what="the signal after the archive")
    assert open_positions(pipeline, trader) == 0

    [trade] = list(csv.DictReader(io.StringIO(ok(stack_env, "trades", "--csv"))))
    assert trade["agent_name"] == "retired" and trade["close_reason"] == "signal"
    reasons = [r["reason"] for r in json.loads(ok(stack_env, "transactions", "--json",
                                                  "--agent", str(trader)))]
    assert reasons == ["signal", "withdrawal", "buy", "deposit", "deposit"]
    left = sol_balance(pipeline, trader)
    ok(stack_env, "agents", "withdraw", str(trader), f"{left.normalize():f}")
    assert sol_balance(pipeline, trader) == Decimal(0)
