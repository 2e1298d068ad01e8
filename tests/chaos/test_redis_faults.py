"""Scenario 3, on the suite's own Redis server: a restart mid-burst (AOF keeps the queues and
the unacknowledged messages), and total data loss (FLUSHALL) after the signals committed —
the outbox sweeper re-enqueues every unfinished signal."""

from __future__ import annotations

import signal

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
from tests.chaos.server import RedisServer
from tests.e2e.conftest import wait_for

TOKENS = [mint(i) for i in range(5)]


def test_a_redis_restart_mid_burst_loses_and_doubles_nothing(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet,
        chaos_redis: RedisServer) -> None:
    agents = make_agents(chaos, 20)
    set_prices(e2e_redis, TOKENS)
    push_all(e2e_redis, plan(60, TOKENS, sell_every=4))
    wait_for(lambda: executions_at_least(chaos, 40), what="the burst to be under way")
    chaos_redis.restart()
    settle(chaos, sender, e2e_redis, signals=60)
    assert fleet.workers["w1"].popen.poll() is None, "the worker died with Redis"
    assert fleet.ingestor is not None and fleet.ingestor.popen.poll() is None, (
        "the ingestor died with Redis")
    assert count(chaos, m.TradingSignal) == 60
    assert_invariants(chaos, every_entry_reaches(chaos, agents))


def test_redis_data_loss_the_outbox_sweeper_recovers_every_signal(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet) -> None:
    # More agents than the ingestor executes itself (SIGNALFLEET_INLINE_FANOUT_AGENTS, 10):
    # every fan-out's work is a task for the workers
    agents = make_agents(chaos, 11)
    set_prices(e2e_redis, TOKENS)
    fleet.workers.pop("w1").stop(signal.SIGTERM)  # nobody consumes: the tasks wait in Redis
    push_all(e2e_redis, plan(30, TOKENS))
    wait_for(lambda: count(chaos, m.TradingSignal) == 30, what="the signals to commit")
    assert e2e_redis.llen("signals") > 0  # their fan-outs, enqueued after commit
    ingestor = fleet.ingestor
    # The chaos session started this Redis server itself (tests/chaos/conftest.py,
    # chaos_redis): wiping it touches no one else.
    e2e_redis.flushall()  # every queued task, price and stream is gone
    set_prices(e2e_redis, TOKENS)
    fleet.start_worker("w1")
    push_all(e2e_redis, plan(40, TOKENS)[30:])  # and ingestion goes on after the loss
    settle(chaos, sender, e2e_redis, signals=40)
    assert count(chaos, m.TradingSignal) == 40
    assert fleet.ingestor is ingestor and ingestor.popen.poll() is None, (
        "the ingestor died when its stream vanished")
    assert_invariants(chaos, every_entry_reaches(chaos, agents))
