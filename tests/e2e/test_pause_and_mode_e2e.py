"""Pause, resume and the mode switch on a running fleet (docs/rules.md §11): real worker and
ingestor processes, each ``fleet`` command a process of its own. The ``pipeline`` fixture
checks the ledger, balance and money invariants after each test."""

from __future__ import annotations

import uuid

import redis
from celery import Celery
from solders.keypair import Keypair
from sqlalchemy import Engine, select

from persistence import models as m
from tests.e2e.conftest import wait_for
from tests.e2e.sweep_helpers import open_position, position, refresh_and_sweep, sales
from tests.e2e.test_operators_e2e import fleet, ok
from tests.e2e.test_pipeline import DCA_ON, executions, push, signal_done, sol_balance
from tests.integration.live_support import SECRET_B58

LIVE_ADDRESS = str(Keypair.from_base58_string(SECRET_B58).pubkey())


def flags(engine: Engine, agent_id: uuid.UUID) -> tuple[bool, bool, bool, bool, str]:
    a = m.Agent
    with engine.connect() as conn:
        row = conn.execute(select(a.automated_trading_simulation, a.exits_paused_simulation,
                                  a.automated_trading_live, a.exits_paused_live,
                                  a.trading_mode).where(a.id == agent_id)).one()
    return tuple(row)  # type: ignore[return-value]


def test_pause_stops_entries_and_dca_exits_only_when_asked_then_resume(
        pipeline: Engine, e2e_redis: redis.Redis, sender: Celery,
        stack_env: dict[str, str]) -> None:
    trader = open_position(pipeline, e2e_redis, "pausable", DCA_ON)  # 2000 tokens at 0.001
    assert ok(stack_env, "agents", "pause", str(trader), "--exits").strip() == (
        "agent pausable (simulation): no new entries or DCA; automated exits paused")
    assert flags(pipeline, trader) == (False, True, True, False, "simulation")
    cash = sol_balance(pipeline, trader)

    push(e2e_redis)  # a paused agent is not eligible: nothing is bought
    wait_for(lambda: signal_done(pipeline, 2), what="the signal while paused")
    assert len(executions(pipeline)[trader]) == 1 and sol_balance(pipeline, trader) == cash
    refresh_and_sweep(sender, e2e_redis, "0.0008")  # a DCA level: no DCA while paused
    assert position(pipeline).dca_count == 0
    refresh_and_sweep(sender, e2e_redis, "0.0005")  # below the stop: exits are paused too
    assert position(pipeline) is not None and sales(pipeline) == []

    assert ok(stack_env, "agents", "resume", str(trader), "--exits").strip() == (
        "agent pausable (simulation): no new entries or DCA; automated exits run")
    refresh_and_sweep(sender, e2e_redis, "0.0008")  # above the stop; DCA still paused
    assert position(pipeline).dca_count == 0 and sales(pipeline) == []

    assert "entries and DCA run; automated exits run" in ok(
        stack_env, "agents", "resume", str(trader))
    assert flags(pipeline, trader) == (True, False, True, False, "simulation")
    refresh_and_sweep(sender, e2e_redis, "0.0008")
    assert position(pipeline).dca_count == 1
    assert sol_balance(pipeline, trader) < cash

    ok(stack_env, "agents", "pause", str(trader))  # entries only: the stop loss still sells
    refresh_and_sweep(sender, e2e_redis, "0.0005")
    assert position(pipeline) is None and len(sales(pipeline)) == 1

    refused = fleet(stack_env, "agents", "pause", str(trader), "--mode", "paper")
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[-1] == "error: mode: must be one of simulation, live"


def test_mode_switch_needs_a_wallet_and_its_key_and_no_open_position_unless_forced(
        pipeline: Engine, e2e_redis: redis.Redis, stack_env: dict[str, str]) -> None:
    trader = open_position(pipeline, e2e_redis, "switcher", DCA_ON)
    with_key = {**stack_env, "WALLET_1": SECRET_B58}

    refused = fleet(with_key, "agents", "mode", str(trader), "live")
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[-1] == (
        f"error: mode: agent switcher has no live wallet; assign one with "
        f"`fleet wallets assign --agent {trader} --address ADDRESS`")
    ok(with_key, "wallets", "assign", "--agent", str(trader), "--address", LIVE_ADDRESS)

    refused = fleet(stack_env, "agents", "mode", str(trader), "live")  # no WALLET_1 here
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1
    assert f"the key of live wallet {LIVE_ADDRESS} is not loaded; set WALLET_n" in (
        refused.stderr)
    assert SECRET_B58 not in refused.stderr + refused.stdout

    refused = fleet(with_key, "agents", "mode", str(trader), "live")
    assert refused.returncode == 2
    assert "holds 1 open position(s) in simulation" in refused.stderr
    assert "--force" in refused.stderr
    assert flags(pipeline, trader)[4] == "simulation"

    assert ok(with_key, "agents", "mode", str(trader), "live", "--force").strip() == (
        "agent switcher: simulation → live")
    assert flags(pipeline, trader)[4] == "live"
    assert position(pipeline) is not None  # the simulation position stays, swept as such
    assert "simulation" in ok(stack_env, "agents", "mode", str(trader), "simulation")
    assert flags(pipeline, trader)[4] == "simulation"
