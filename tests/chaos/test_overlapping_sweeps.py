"""Scenario 5 (the part that exists): overlapping position sweeps on two workers — every
stop-loss exit happens exactly once."""

from __future__ import annotations

import redis
from celery import Celery
from sqlalchemy import Engine

from persistence import models as m
from tests.chaos.fleet import Fleet, settle
from tests.chaos.helpers import SMALL, count, make_agents, mint, payload, push_all, set_prices
from tests.chaos.invariants import assert_invariants
from tests.e2e.conftest import wait_for
from tests.e2e.sweep_helpers import wait_idle

STOPS = {**SMALL, "stopLoss": {"enabled": True}}


def test_overlapping_sweeps_exit_each_position_once(chaos: Engine, e2e_redis: redis.Redis,
                                                    sender: Celery, fleet: Fleet) -> None:
    fleet.start_worker("w2")
    agents = make_agents(chaos, 10, config=STOPS)
    tokens = [mint(400 + i) for i in range(3)]
    set_prices(e2e_redis, tokens, "0.001")
    push_all(e2e_redis, [payload(t, i) for i, t in enumerate(tokens)])
    settle(chaos, sender, e2e_redis, signals=len(tokens))
    opened = count(chaos, m.AgentPosition)
    assert opened == len(agents) * len(tokens)
    set_prices(e2e_redis, tokens, "0.0005")  # −50 %: below every −32 % stop
    sender.send_task("prices.refresh", queue="sweeps")
    wait_idle(e2e_redis)
    for _ in range(4):  # beat ticks piling up, plus an operator's manual sweep per token
        sender.send_task("positions.sweep", queue="sweeps")
        for token in tokens:
            sender.send_task("positions.sweep_tokens", args=[[token]], queue="sweeps")
    wait_for(lambda: count(chaos, m.AgentPosition) == 0, what="every stop-loss exit")
    wait_idle(e2e_redis)
    assert count(chaos, m.AgentHistoricalSwap) == opened
    assert count(chaos, m.AgentTransaction, m.AgentTransaction.input_mint.in_(tokens)) == opened
    assert_invariants(chaos)
