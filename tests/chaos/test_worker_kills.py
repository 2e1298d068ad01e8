"""Scenario 2: workers die mid-burst. SIGKILL of the main process (and its pool) leaves its
messages unacknowledged until the visibility timeout restores them; SIGKILL of a pool child
rejects its message back to the queue; SIGTERM (warm shutdown) restores the reserved ones
at once. And the narrowest window: a kill after a task's transaction committed but before its
message was acknowledged, so the same message runs again against work already done.
Afterwards every signal reaches every eligible agent exactly once."""

from __future__ import annotations

import os
import signal
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
    executions_at_least,
    make_agents,
    mint,
    plan,
    push_all,
    set_prices,
)
from tests.chaos.invariants import assert_invariants
from tests.e2e.conftest import wait_for

TOKENS = [mint(i) for i in range(5)]


def burst(engine: Engine, client: redis.Redis, agents: int, signals: int) -> list:  # type: ignore[type-arg]
    ids = make_agents(engine, agents)
    set_prices(client, TOKENS)
    push_all(client, plan(signals, TOKENS, sell_every=4))
    return ids


def test_sigkill_of_the_main_process_mid_burst_loses_and_doubles_nothing(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet) -> None:
    agents = burst(chaos, e2e_redis, 20, 60)
    wait_for(lambda: executions_at_least(chaos, 40), what="the burst to be under way")
    unfinished = count(chaos, m.TradingSignal, m.TradingSignal.status != "processed")
    fleet.kill_worker("w1")
    assert unfinished > 0, "the kill came after the burst"
    assert e2e_redis.hlen("unacked") > 0  # delivered, never acknowledged
    fleet.start_worker("w1")
    settle(chaos, sender, e2e_redis, signals=60)
    assert_invariants(chaos, every_entry_reaches(chaos, agents))


def test_sigkill_of_pool_children_mid_burst(chaos: Engine, e2e_redis: redis.Redis,
                                            sender: Celery, fleet: Fleet) -> None:
    agents = burst(chaos, e2e_redis, 20, 60)
    killed = 0
    for target in (20, 200, 500):
        wait_for(lambda t=target: executions_at_least(chaos, t), what="the burst under way")
        children = fleet.pool_children("w1")
        if children:
            os.kill(children[0], signal.SIGKILL)
            killed += 1
    assert killed == 3
    assert fleet.workers["w1"].popen.poll() is None  # the main process replaced its children
    settle(chaos, sender, e2e_redis, signals=60)
    assert_invariants(chaos, every_entry_reaches(chaos, agents))


def test_sigterm_warm_shutdown_restores_reserved_tasks(chaos: Engine, e2e_redis: redis.Redis,
                                                       sender: Celery, fleet: Fleet) -> None:
    agents = burst(chaos, e2e_redis, 20, 60)
    wait_for(lambda: executions_at_least(chaos, 40), what="the burst to be under way")
    fleet.workers.pop("w1").stop(signal.SIGTERM)
    assert e2e_redis.hlen("unacked") == 0  # finished or put back, none left in flight
    assert count(chaos, m.TradingSignal, m.TradingSignal.status != "processed") > 0
    fleet.start_worker("w1")
    settle(chaos, sender, e2e_redis, signals=60)
    assert_invariants(chaos, every_entry_reaches(chaos, agents))


@pytest.mark.parametrize("victim", ["child", "main"])
def test_a_kill_after_commit_before_ack_runs_the_message_again_harmlessly(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet,
        tmp_path: Path, victim: str) -> None:
    marker = tmp_path / "killed"
    fleet.workers.pop("w1").stop()
    fleet.start_worker("w1", module="tests.chaos.killer_worker", CHAOS_KILL=victim,
                       CHAOS_KILL_MARKER=str(marker),
                       CHAOS_KILL_AFTER="signals.fan_out,signals.fan_out_many,signals.execute")
    agents = burst(chaos, e2e_redis, 10, 12)
    wait_for(marker.exists, what="a task to commit and be killed before its ack")
    task_id = marker.read_text().split()[1]
    assert count(chaos, m.SignalExecution) > 0  # its transaction had committed
    if victim == "main":
        fleet.workers["w1"].popen.wait(10)
        fleet.workers.pop("w1")
        unacked = e2e_redis.hvals("unacked")  # decoded: e2e_redis answers str
        assert any(task_id in v for v in unacked), "the killed message was acknowledged"
        fleet.start_worker("w1")  # the visibility timeout hands the message to it
    else:
        assert fleet.workers["w1"].popen.poll() is None  # the main process forks a new child
    wait_for(lambda: received(fleet, task_id) >= 2, 60, "the killed message delivered again")
    fleet.workers.pop("w1").stop()
    fleet.start_worker("w1")  # the suite's plain worker again
    settle(chaos, sender, e2e_redis, signals=12)
    assert_invariants(chaos, every_entry_reaches(chaos, agents))


def received(fleet: Fleet, task_id: str, worker: str = "w1") -> int:
    """How many times any ``worker`` of this session received the message (their logs)."""
    return sum(log.read_text(errors="replace").count(f"[{task_id}] received")
               for log in fleet.tmp.glob(f"{worker}-*.log"))
