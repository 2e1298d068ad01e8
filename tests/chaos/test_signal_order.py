"""Order per agent and token (docs/rules.md §3) through real workers: a `buy` and a `sell`
for one token pushed in one Redis pipeline to N agents leave no position open, whichever of
the two fan-outs runs first, without beat (the waiting agents are retried by their own
tasks, not by the outbox sweeper). Short in `make test`, 1,000 agents in `make chaos`."""

from __future__ import annotations

import time

import pytest
import redis
from celery import Celery
from sqlalchemy import Engine, func, select

from persistence import models as m
from tests.chaos.fleet import Fleet, processed
from tests.chaos.helpers import count, make_agents, mint, payload, push_all, set_prices
from tests.e2e.conftest import wait_for

# Exits close agent by agent: 25 a chunk keep a task far inside the suite's 5 s soft limit
# on a loaded machine (100 closes took 5 s on 2 shared cores).
CHUNK = {"SIGNALFLEET_FANOUT_CHUNK_SIZE": "25"}


def race(engine: Engine, client: redis.Redis, fleet: Fleet, n: int, timeout: float) -> float:
    with fleet.settings(**CHUNK):
        fleet.start_worker("w1")
        fleet.start_worker("w2")  # two workers: the two fan-outs may run at once
        fleet.start_ingestor()
        return _race(engine, client, n, timeout)


def _race(engine: Engine, client: redis.Redis, n: int, timeout: float) -> float:
    make_agents(engine, n)
    token = mint(4242)
    set_prices(client, [token])
    started = time.monotonic()
    push_all(client, [payload(token, 0, "buy"), payload(token, 1, "sell")])
    wait_for(lambda: processed(engine, 2), timeout, "the buy and the sell to be processed")
    settled = time.monotonic() - started
    with engine.connect() as conn:
        outcomes = {kind: int(c) for kind, c in conn.execute(
            select(m.TradingSignal.signal_type, func.count())
            .join(m.SignalExecution, m.SignalExecution.signal_id == m.TradingSignal.id)
            .where(m.SignalExecution.status == "EXECUTED")
            .group_by(m.TradingSignal.signal_type))}
    assert outcomes == {"buy": n, "sell": n}
    assert count(engine, m.AgentPosition) == 0
    assert count(engine, m.AgentHistoricalSwap) == n
    print(f"\nbuy+sell race to {n} agents settled in {settled:.2f}s")
    return settled


def test_a_sell_racing_its_buy_closes_every_position(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet) -> None:
    race(chaos, e2e_redis, fleet, 100, 90)


@pytest.mark.chaos_long
@pytest.mark.timeout(1200)
def test_a_sell_racing_its_buy_closes_every_position_of_1000_agents(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet) -> None:
    race(chaos, e2e_redis, fleet, 1000, 600)
