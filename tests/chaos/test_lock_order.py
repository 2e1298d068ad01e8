"""Chunks of different signals for the same agents, executed at once on four pool slots
(two workers): the agent locks must never deadlock. A deadlock inside an agent's savepoint
is recorded as a terminal ``FAILED unexpected_error`` — that agent's decision is lost."""

from __future__ import annotations

import redis
from celery import Celery
from sqlalchemy import Engine, select

from persistence import models as m
from tests.chaos.fleet import Fleet, settle
from tests.chaos.helpers import make_agents, mint
from tests.chaos.invariants import assert_invariants
from tests.chaos.test_redelivery import stored_signal


def test_concurrent_chunks_on_the_same_agents_never_deadlock(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet) -> None:
    fleet.start_worker("w2")
    agents = [str(a) for a in make_agents(chaos, 10)]
    signals = [stored_signal(chaos, mint(300 + i), f"locks-{i}") for i in range(16)]
    for sid in signals:  # no price for these tokens: every agent goes the per-agent path
        sender.send_task("signals.execute", args=[sid, agents], queue="signals")
    settle(chaos, sender, e2e_redis, signals=len(signals))
    with chaos.connect() as conn:
        reasons = conn.execute(select(m.SignalExecution.reason)).scalars().all()
    assert len(reasons) == len(signals) * len(agents)
    assert set(reasons) == {"price_unavailable"}, (
        f"{reasons.count('unexpected_error')} decisions lost to lock errors")
    assert_invariants(chaos)
