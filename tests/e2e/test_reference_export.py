"""A config exported from the reference engine imports as it is through the CLI and trades
(docs/rules.md §13): every section, floats, nulls, the obsolete ``continuousTrailing`` (dropped
with a warning naming it), trailing levels out of order in fixed mode, fractional minutes and
seconds."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import redis
from celery import Celery
from sqlalchemy import Engine, select

from persistence import models as m
from tests.e2e.conftest import ROOT, wait_for
from tests.e2e.sweep_helpers import refresh_and_sweep
from tests.e2e.test_pipeline import executions, push, set_price, signal_done

EXPORT = Path(__file__).parent / "fixtures" / "reference_engine_export.json"


def test_a_reference_engine_export_imports_through_the_cli_and_trades(
        pipeline: Engine, e2e_redis: redis.Redis, sender: Celery,
        stack_env: dict[str, str]) -> None:
    created = subprocess.run(
        [sys.executable, "-m", "workers.cli", "agents", "create", "--name", "imported",
         "--deposit", "10", "--config", str(EXPORT)],
        env=stack_env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    agent_id = uuid.UUID(created.stdout.strip())
    assert "warning" in created.stderr and "stopLoss.continuousTrailing" in created.stderr
    with pipeline.connect() as conn:
        stored = conn.execute(select(m.Agent.trading_config)
                              .where(m.Agent.id == agent_id)).scalar_one()
    sent = json.loads(EXPORT.read_text())
    del sent["stopLoss"]["continuousTrailing"]
    assert _numbers(stored) == _numbers(sent)  # stored as exported, less the obsolete key

    set_price(e2e_redis, "0.001")
    push(e2e_redis, signal_strength=59)  # below the export's minScore 60: not for this agent
    push(e2e_redis, signal_strength=60)
    wait_for(lambda: signal_done(pipeline, 2), what="both signals")
    assert executions(pipeline) == {agent_id: [("EXECUTED", "open", None)]}
    with pipeline.connect() as conn:
        opened = conn.execute(select(m.AgentPosition)).one()
    # 10 SOL is the large category (max 2.0), capped by maxPurchasePerToken 1.5
    assert opened.purchase_amount == Decimal(1500)
    assert opened.current_stop_loss_percentage == Decimal("-25.5")

    refresh_and_sweep(sender, e2e_redis, "0.0007")  # −30 %: past the export's −25.5 % stop
    with pipeline.connect() as conn:
        closed = conn.execute(select(m.AgentHistoricalSwap)).one()
    assert (closed.agent_id, closed.close_reason) == (agent_id, "stop_loss")

    replaced = subprocess.run(
        [sys.executable, "-m", "workers.cli", "agents", "config", str(agent_id), "--set",
         str(EXPORT), "--json"],
        env=stack_env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert replaced.returncode == 0, replaced.stderr
    assert "warning" in replaced.stderr and "stopLoss.continuousTrailing" in replaced.stderr
    assert _numbers(json.loads(replaced.stdout)["stored"]) == _numbers(sent)


def _numbers(value: object) -> object:
    """JSON compared with every number as a decimal (floats, strings and ints alike)."""
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            return Decimal(str(value))
        except ArithmeticError:
            return value
    return value
