"""Scenario 11: how long a SIGKILLed worker's work waits, beat stopped (no outbox sweeper).
One buy signal fans out to every agent in chunks; the only worker is SIGKILLed (main process
and pool) right after its first chunk commits, so it dies holding that message and the next
one it had taken; a second worker starts at once, as a supervisor or another node would, and
takes the queue. The chunks the dead worker held come back when their lease lapses — nobody
renews it — within the visibility timeout plus one restore interval (workers/broker.py), not
when a sweeper or a restart of that worker happens to look. Every agent's execution must land
within 60 s of the kill. The short version: 200 agents and the suite's 10 s timeout; the long
one (``make chaos``): 1,000 agents with the production settings."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import redis
from celery import Celery
from sqlalchemy import Engine

from persistence import models as m
from tests.chaos.fleet import Fleet, settle
from tests.chaos.helpers import (
    count,
    every_entry_reaches,
    make_agents,
    mint,
    payload,
    push_all,
    set_prices,
)
from tests.chaos.invariants import assert_invariants
from tests.e2e.conftest import wait_for

TOKEN = mint(0)
WITHIN = 60.0
PRODUCTION = {"SIGNALFLEET_VISIBILITY_TIMEOUT_SECONDS": "30",
              "SIGNALFLEET_TASK_SOFT_TIME_LIMIT_SECONDS": "60",
              "SIGNALFLEET_TASK_TIME_LIMIT_SECONDS": "90",
              "SIGNALFLEET_FANOUT_CHUNK_SIZE": "100"}


def kill_mid_fan_out(chaos: Engine, client: redis.Redis, sender: Celery, fleet: Fleet,
                     tmp: Path, agents: int) -> float:
    """Returns the seconds from the kill to the last agent's execution."""
    ids = make_agents(chaos, agents)
    set_prices(client, [TOKEN])
    marker = tmp / "killed"
    fleet.workers.pop("w1").stop()
    victim = fleet.start_worker("w1", module="tests.chaos.killer_worker", CHAOS_KILL="main",
                                CHAOS_KILL_MARKER=str(marker),
                                CHAOS_KILL_AFTER="signals.execute")
    assert fleet.beat is None, "beat must not run: no outbox sweeper in this scenario"
    push_all(client, [payload(TOKEN, 1)])
    wait_for(marker.exists, 60, "the worker to commit a chunk and be killed before its ack")
    killed = time.monotonic()
    victim.stop(signal.SIGKILL)  # its pool goes with it, as in a container's death
    fleet.workers.pop("w1")
    done = count(chaos, m.SignalExecution)
    held = client.hlen("unacked")
    assert done < agents and held > 0, (done, held)  # it died holding unfinished work
    fleet.start_worker("w2")
    wait_for(lambda: count(chaos, m.SignalExecution) >= agents, WITHIN,
             f"all {agents} executions within {WITHIN:.0f}s of the kill, beat stopped")
    took = time.monotonic() - killed
    settle(chaos, sender, client, signals=1)
    assert_invariants(chaos, every_entry_reaches(chaos, ids))
    return took


def test_a_killed_workers_chunks_come_back_without_beat(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet,
        tmp_path: Path) -> None:
    with fleet.settings(SIGNALFLEET_FANOUT_CHUNK_SIZE="20"):
        fleet.ensure()
        took = kill_mid_fan_out(chaos, e2e_redis, sender, fleet, tmp_path, 200)
    print(f"redelivery (short): 200 executions {took:.1f}s after the kill")


@pytest.mark.chaos_long
@pytest.mark.timeout(1200)
def test_a_1000_agent_fan_out_finishes_within_60s_of_a_kill_without_beat(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with fleet.settings(**PRODUCTION):
        fleet.ensure()
        took = kill_mid_fan_out(chaos, e2e_redis, sender, fleet, tmp_path, 1000)
    with capsys.disabled():
        print(f"\nredelivery: 1,000-agent fan-out, worker main SIGKILLed mid-way, beat "
              f"stopped, visibility timeout 30 s: all executions {took:.1f}s after the kill")
