"""An agent whose stored config no longer validates (written before a bound existed, or by
hand) costs only that agent: the real worker's sweep skips its positions and exits everyone
else's, and ``fleet doctor`` names it (issue 21)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from typing import Any

import redis
from celery import Celery
from sqlalchemy import Engine, select, text

from persistence import models as m
from tests.e2e.conftest import ROOT, wait_for
from tests.e2e.sweep_helpers import refresh_and_sweep
from tests.e2e.test_pipeline import FIXED_SIZE, MINT, agent, push, set_price, signal_done

OUT_OF_BOUNDS = {**FIXED_SIZE, "staleTrade": {"minHoldTimeMinutes": 10**15}}
# An integer of 5,000 digits: valid JSONB, but no JSON reader in Python decodes it.
UNREADABLE = '{"staleTrade": {"minHoldTimeMinutes": 1' + "0" * 5000 + "}}"


def store_config(engine: Engine, agent_id: uuid.UUID, config_json: str) -> None:
    """Straight into the database, as an older version (before the bounds) would have."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE agents SET trading_config = CAST(:config AS jsonb) "
                          "WHERE id = :id"), {"config": config_json, "id": agent_id})


def doctor(stack_env: dict[str, str]) -> dict[str, dict[str, Any]]:
    out = subprocess.run([sys.executable, "-m", "workers.cli", "doctor", "--json"],
                         env=stack_env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    return {check["name"]: check for check in json.loads(out.stdout)}


def test_the_sweep_exits_the_others_and_reports_the_agent_with_a_bad_config(
        pipeline: Engine, e2e_redis: redis.Redis, sender: Celery,
        stack_env: dict[str, str]) -> None:
    good = [agent(pipeline, name, "10", FIXED_SIZE) for name in ("good-1", "good-2")]
    bad = agent(pipeline, "bad-bound", "10", FIXED_SIZE)
    unreadable = agent(pipeline, "bad-json", "10", FIXED_SIZE)
    set_price(e2e_redis, "0.001")
    push(e2e_redis)
    wait_for(lambda: signal_done(pipeline, 1), what="the opening signal")
    store_config(pipeline, bad, json.dumps(OUT_OF_BOUNDS))
    store_config(pipeline, unreadable, UNREADABLE)

    refresh_and_sweep(sender, e2e_redis, "0.0006")  # −40 %: past every default −32 % stop

    with pipeline.connect() as conn:
        still_open = set(conn.execute(select(m.AgentPosition.agent_id)).scalars())
        closed = dict(conn.execute(select(m.AgentHistoricalSwap.agent_id,
                                          m.AgentHistoricalSwap.close_reason)).all())
    assert closed == dict.fromkeys(good, "stop_loss")
    assert still_open == {bad, unreadable}  # skipped, not sold on a config that is not theirs

    check = doctor(stack_env)["configs"]
    assert check["status"] == "FAIL", check
    assert f"bad-bound ({bad}): staleTrade.minHoldTimeMinutes: must be <= 525600" in (
        check["detail"])
    assert f"bad-json ({unreadable}): $: the stored config cannot be read (a number too long)" in (
        check["detail"])
    assert "fleet agents config AGENT_ID --set FILE" in check["fix"]
    assert "good-1" not in check["detail"] and MINT not in check["detail"]
