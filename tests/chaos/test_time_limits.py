"""Scenario 12: ``agents`` locked (``LOCK TABLE … ACCESS EXCLUSIVE`` in a connection of the
test's own) for longer than the soft time limit, mid-burst. Every task blocked on it is
interrupted by the soft time limit inside psycopg's wait ("another command is already in
progress" on that connection afterwards): the unit of work cancels the query and discards
the connection, the task is retried with backoff, and once the lock goes everything lands —
nothing dead-lettered, lost or doubled. The blocked tasks outlive the visibility timeout too:
the worker's lease keeps them from being handed to anyone else meanwhile. Short version: a
12 s lock, 3 s soft limit; long (``make chaos``): the issue's 75 s lock with the production
limits (60 s soft, 90 s hard, 30 s visibility)."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest
import redis
from celery import Celery
from sqlalchemy import Engine, text

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
from workers.tasks.base import DEAD_TASKS_STREAM

TOKENS = [mint(i) for i in range(5)]
# The blocked tasks outlast the visibility timeout (10 s) before their soft limit (12 s).
SHORT = {"SIGNALFLEET_TASK_SOFT_TIME_LIMIT_SECONDS": "12",
         "SIGNALFLEET_TASK_TIME_LIMIT_SECONDS": "15",
         "SIGNALFLEET_VISIBILITY_TIMEOUT_SECONDS": "10"}
PRODUCTION = {"SIGNALFLEET_TASK_SOFT_TIME_LIMIT_SECONDS": "60",
              "SIGNALFLEET_TASK_TIME_LIMIT_SECONDS": "90",
              "SIGNALFLEET_VISIBILITY_TIMEOUT_SECONDS": "30"}
RECEIVED = re.compile(r"Task [\w.]+\[([0-9a-f-]+)\] received")
RETRIED = re.compile(r"Task [\w.]+\[([0-9a-f-]+)\] retry: Retry in \S+: (\w+)")


def lock_agents_mid_burst(chaos: Engine, client: redis.Redis, sender: Celery, fleet: Fleet,
                          hold: float, agents: int, signals: int) -> tuple[int, float]:
    """Returns (tasks retried after their soft time limit, seconds from unlock to settled)."""
    ids = make_agents(chaos, agents)
    set_prices(client, TOKENS)
    push_all(client, plan(signals, TOKENS, sell_every=4))
    wait_for(lambda: executions_at_least(chaos, agents), 60, "the burst to be under way")
    with chaos.connect() as conn:  # a connection of the test's own, as an operator's would be
        conn.execute(text("LOCK TABLE agents IN ACCESS EXCLUSIVE MODE"))
        locked = count(chaos, m.SignalExecution)
        time.sleep(hold)
        conn.rollback()
    unlocked = time.monotonic()
    settle(chaos, sender, client, timeout=300, signals=signals)
    took = time.monotonic() - unlocked
    logs = "".join(p.output() for p in fleet.workers.values())
    retries = Counter(task for task, why in RETRIED.findall(logs)
                      if why == "SoftTimeLimitExceeded")
    assert retries, "no task was interrupted by its soft time limit: the lock came too late"
    assert client.xlen(DEAD_TASKS_STREAM) == 0, client.xrange(DEAD_TASKS_STREAM)
    assert "task.failed" not in logs
    assert "another command is already in progress" not in logs
    # a delivery more than its retries explain is a message handed out again while its worker
    # still held it: the lease lapsed
    received = Counter(RECEIVED.findall(logs))
    again = {t: n for t, n in received.items() if n > 1 + retries[t]}
    assert not again, again
    assert count(chaos, m.SignalExecution) > locked
    assert_invariants(chaos, every_entry_reaches(chaos, ids))
    return sum(retries.values()), took


def test_a_lock_past_the_soft_time_limit_retries_every_task(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet) -> None:
    with fleet.settings(**SHORT):
        fleet.ensure()
        # 11 agents: more than the ingestor executes itself, so every execution is a
        # worker's task that the lock can hold past its soft limit
        retried, took = lock_agents_mid_burst(chaos, e2e_redis, sender, fleet, hold=16,
                                              agents=11, signals=20)
    print(f"time limits (short): 16 s lock, {retried} tasks retried after their soft limit, "
          f"none dead-lettered; settled {took:.1f}s after the unlock")


@pytest.mark.chaos_long
@pytest.mark.timeout(1800)
def test_a_75s_lock_on_agents_retries_every_task_with_the_production_limits(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet,
        capsys: pytest.CaptureFixture[str]) -> None:
    with fleet.settings(**PRODUCTION):
        fleet.ensure()
        retried, took = lock_agents_mid_burst(chaos, e2e_redis, sender, fleet, hold=75,
                                              agents=50, signals=100)
    with capsys.disabled():
        print(f"\ntime limits: 75 s lock on agents mid-burst (soft limit 60 s, visibility "
              f"30 s): {retried} tasks retried, none dead-lettered; settled {took:.1f}s after "
              f"the unlock")
