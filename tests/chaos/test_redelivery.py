"""Scenarios 1 and 8: the same message delivered twice and by two workers at once executes
once; a poison task is dead-lettered after bounded attempts while the queue keeps flowing."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import redis
from celery import Celery
from sqlalchemy import Engine

from domain.signals import Signal
from persistence import models as m
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.chaos.fleet import Fleet, settle
from tests.chaos.helpers import count, make_agents, mint, plan, push_all, set_prices
from tests.chaos.invariants import assert_invariants
from workers.tasks.base import DEAD_TASKS_STREAM


def stored_signal(engine: Engine, token: str, key: str, kind: str = "buy") -> int:
    """A committed ``pending`` signal whose fan-out was never enqueued."""
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine))
    with uow:
        signal_id, _ = uow.signals.add(Signal(token, kind, 60, idempotency_key=key),
                                       datetime.now(UTC))
        uow.commit()
    return signal_id


def test_one_message_twice_and_on_two_workers_at_once_executes_once(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet) -> None:
    fleet.start_worker("w2")
    agents = make_agents(chaos, 12)
    tokens = [mint(i) for i in range(3)]
    set_prices(e2e_redis, tokens)
    ids = [str(a) for a in agents]
    signals = [stored_signal(chaos, t, f"twice-{t}") for t in tokens]
    for sid in signals:  # 4 slots on 2 workers race for the same (signal, agent) claims
        for _ in range(3):
            sender.send_task("signals.execute", args=[sid, ids], queue="signals")
            sender.send_task("signals.execute", args=[sid, ids[::-1]], queue="signals")
        sender.send_task("signals.fan_out", args=[sid], queue="signals")
        twin = str(uuid.uuid4())  # one message id, delivered twice (a redelivery)
        sender.send_task("signals.fan_out", args=[sid], queue="signals", task_id=twin)
        sender.send_task("signals.fan_out", args=[sid], queue="signals", task_id=twin)
    body = {"token_address": tokens[0], "signal_type": "buy", "signal_strength": 50,
            "idempotency_key": "twice-stream"}
    push_all(e2e_redis, [body, body])  # the provider's retry: the same key twice
    settle(chaos, sender, e2e_redis, signals=4)
    assert count(chaos, m.TradingSignal) == 4
    assert count(chaos, m.SignalExecution) == 4 * len(agents)
    expected = {sid: set(agents) for sid in signals}
    assert count(chaos, m.AgentPosition) == 3 * len(agents)  # one open per (agent, token)
    tally = assert_invariants(chaos, {**expected, **{max(signals) + 1: set(agents)}})
    assert tally.executions == 48


def test_a_poison_task_is_dead_lettered_and_the_queue_keeps_flowing(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery) -> None:
    agents = make_agents(chaos, 5)
    tokens = [mint(i) for i in range(2)]
    set_prices(e2e_redis, tokens)
    sender.send_task("signals.execute", args=[987654321, [str(agents[0])]], queue="signals")
    sender.send_task("signals.execute", args=[1, ["not-a-uuid"]], queue="signals")
    sid = stored_signal(chaos, tokens[0], "capped")
    capped = str(uuid.uuid4())  # a message redelivered beyond the cap (worker lost each time)
    for _ in range(7):
        sender.send_task("signals.execute", args=[sid, [str(agents[0])]], queue="signals",
                         task_id=capped)
    push_all(e2e_redis, plan(20, tokens))
    settle(chaos, sender, e2e_redis, signals=21)

    dead = [fields for _, fields in e2e_redis.xrange(DEAD_TASKS_STREAM)]
    reasons = sorted(d["reason"] for d in dead)
    # Celery rebuilds NotFound as its base class; the message names the field
    assert [r for r in reasons if "987654321" in r] == [
        "DomainError: signal_id: no signal 987654321"]
    assert sum(r.startswith("ValueError") for r in reasons) == 1
    capped_out = [d for d in dead if d["task_id"] == capped]
    assert [d["reason"] for d in capped_out] == ["delivered 6 times",
                                                            "delivered 7 times"]
    assert json.loads(capped_out[0]["args"]) == [sid, [str(agents[0])]]
    assert count(chaos, m.TradingSignal) == 21
    assert count(chaos, m.SignalExecution) == 21 * len(agents)  # the sweeper fanned it out
    assert_invariants(chaos)
