"""Scenario 4: every PostgreSQL session of the test database terminated mid-burst (twice),
as a failover or an operator's ``pg_terminate_backend`` would; and the suite's own server
restarted mid-burst (a clean ``fast`` stop, and a crash: ``immediate``, WAL recovery on
start), down long enough that workers and the ingestor meet refused connections.
Transactions in flight roll back; their tasks are retried, the ingestor keeps its batch
pending, the sweeper re-drives what is left; nothing doubles, nobody dies."""

from __future__ import annotations

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
from tests.chaos.server import PostgresServer
from tests.e2e.conftest import wait_for

TOKENS = [mint(i) for i in range(5)]


def terminate_sessions(engine: Engine) -> int:
    """Terminate every other session on this database; returns how many."""
    with engine.connect() as conn:
        killed = conn.execute(text(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
    return int(killed)


def test_postgres_sessions_terminated_mid_burst(chaos: Engine, e2e_redis: redis.Redis,
                                                sender: Celery, fleet: Fleet) -> None:
    agents = make_agents(chaos, 20)
    set_prices(e2e_redis, TOKENS)
    push_all(e2e_redis, plan(60, TOKENS, sell_every=4))
    terminated = 0
    for target in (30, 300):
        wait_for(lambda t=target: executions_at_least(chaos, t), what="the burst under way")
        terminated += terminate_sessions(chaos)
    assert terminated > 0
    settle(chaos, sender, e2e_redis, signals=60)
    assert fleet.workers["w1"].popen.poll() is None
    assert fleet.ingestor is not None and fleet.ingestor.popen.poll() is None
    assert count(chaos, m.TradingSignal) == 60
    assert_invariants(chaos, every_entry_reaches(chaos, agents))


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restarted_mid_burst(chaos: Engine, e2e_redis: redis.Redis, sender: Celery,
                                      fleet: Fleet, chaos_postgres: PostgresServer,
                                      mode: str) -> None:
    agents = make_agents(chaos, 20)
    set_prices(e2e_redis, TOKENS)
    push_all(e2e_redis, plan(60, TOKENS, sell_every=4))
    wait_for(lambda: executions_at_least(chaos, 60), what="the burst under way")
    restarts = chaos_postgres.restarts
    chaos_postgres.restart(mode)
    assert chaos_postgres.restarts == restarts + 1
    push_all(e2e_redis, plan(80, TOKENS, sell_every=4)[60:])  # while clients reconnect
    settle(chaos, sender, e2e_redis, timeout=120, signals=80)
    assert fleet.workers["w1"].popen.poll() is None
    assert fleet.ingestor is not None and fleet.ingestor.popen.poll() is None
    assert count(chaos, m.TradingSignal) == 80
    assert_invariants(chaos, every_entry_reaches(chaos, agents))
