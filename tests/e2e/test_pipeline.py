"""A signal pushed by a provider becomes positions for exactly the eligible agents, once."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import redis
from celery import Celery
from sqlalchemy import Engine, func, select

from domain.base58 import b58encode
from domain.ledger import SOL_MINT
from persistence import models as m
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.e2e.conftest import Proc, wait_for
from workers.adapters.prices import StaticPriceFeed
from workers.handlers.operators.agents import NewAgent, create_agent
from workers.ingest.dead_letters import DEAD_SIGNALS_STREAM
from workers.ingest.stream import SIGNALS_STREAM

MINT = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"
OTHER_MINT = b58encode(hashlib.sha256(b"pipeline-other-mint").digest())
FIXED_SIZE = {"positionCalculator": {"randomization": {"enabled": False}}}
DCA_ON = {**FIXED_SIZE, "dca": {"enabled": True, "mode": "moderate", "cooldownSeconds": 10}}


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def agent(engine: Engine, name: str, deposit: str, config: dict[str, Any] | None = None,
          **flags: Any) -> uuid.UUID:
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine))
    agent_id = create_agent(uow, Clock(), NewAgent(name=name, deposit_sol=Decimal(deposit),
                                                   config=config))
    if flags:
        with engine.begin() as conn:
            conn.execute(m.Agent.__table__.update().where(m.Agent.id == agent_id).values(**flags))
    return agent_id


def push(client: redis.Redis, **payload: Any) -> str:
    body = {"token_address": MINT, "signal_type": "buy", "signal_strength": 50, **payload}
    return str(client.xadd(SIGNALS_STREAM, {"payload": json.dumps(body)}))


def set_price(client: redis.Redis, price: str) -> None:
    StaticPriceFeed(client, Clock()).set_price(MINT, Decimal(price))


def signal_done(engine: Engine, count: int) -> bool:
    with engine.connect() as conn:
        statuses = conn.execute(select(m.TradingSignal.status)).scalars().all()
    return len(statuses) >= count and all(s == "processed" for s in statuses)


def executions(engine: Engine) -> dict[uuid.UUID, list[tuple[str, str, str | None]]]:
    with engine.connect() as conn:
        rows = conn.execute(select(m.SignalExecution).order_by(m.SignalExecution.signal_id))
        out: dict[uuid.UUID, list[tuple[str, str, str | None]]] = {}
        for r in rows:
            out.setdefault(r.agent_id, []).append((r.status, r.action, r.reason))
    return out


def sol_balance(engine: Engine, agent_id: uuid.UUID) -> Decimal:
    with engine.connect() as conn:
        return conn.execute(select(m.AgentBalance.balance).where(
            m.AgentBalance.agent_id == agent_id, m.AgentBalance.token_address == SOL_MINT)
        ).scalar_one()


def test_a_signal_reaches_exactly_the_eligible_agents(pipeline: Engine,
                                                      e2e_redis: redis.Redis) -> None:
    rich = agent(pipeline, "rich", "10", FIXED_SIZE)
    picky = agent(pipeline, "picky", "10", {"signals": {"minScore": 90}})
    paused = agent(pipeline, "paused", "10", automated_trading_simulation=False)
    poor = agent(pipeline, "poor", "0.3")
    set_price(e2e_redis, "0.001")
    push(e2e_redis, symbol="BONK")
    wait_for(lambda: signal_done(pipeline, 1), what="the signal to be processed")

    done = executions(pipeline)
    assert set(done) == {rich, poor}
    assert done[rich] == [("EXECUTED", "open", None)]
    assert done[poor] == [("SKIPPED", "none", "below_minimum_balance")]
    assert picky not in done and paused not in done
    with pipeline.connect() as conn:
        position = conn.execute(select(m.AgentPosition)).one()
    assert position.agent_id == rich
    assert position.purchase_amount == Decimal("2000")  # 2 SOL (large, max) at 0.001
    assert position.purchase_price == Decimal("0.001")
    assert position.total_invested_sol == Decimal("2.000005")  # + the network fee
    assert position.current_stop_loss_percentage == Decimal("-32")
    assert sol_balance(pipeline, rich) == Decimal("7.999995")
    assert e2e_redis.hget(f"sf:positions:{rich}", MINT) is not None  # written after commit


def test_dca_at_the_next_level_skip_otherwise_then_sell_closes(pipeline: Engine,
                                                              e2e_redis: redis.Redis) -> None:
    trader = agent(pipeline, "trader", "10", DCA_ON)
    set_price(e2e_redis, "0.001")
    push(e2e_redis)
    wait_for(lambda: signal_done(pipeline, 1), what="the opening signal")
    push(e2e_redis)  # same price: the DCA level (−20 %) is not reached
    wait_for(lambda: signal_done(pipeline, 2), what="the second signal")
    set_price(e2e_redis, "0.0008")
    push(e2e_redis)  # −20 %: moderate level 1 buys 75 % of the holding's value
    wait_for(lambda: signal_done(pipeline, 3), what="the DCA signal")
    assert executions(pipeline)[trader] == [
        ("EXECUTED", "open", None), ("SKIPPED", "none", "position_exists"),
        ("EXECUTED", "dca", None)]
    with pipeline.connect() as conn:
        position = conn.execute(select(m.AgentPosition)).one()
    assert position.dca_count == 1
    assert position.purchase_amount == Decimal("3500")  # 2000 + 1.2 SOL / 0.0008
    assert position.total_invested_sol == Decimal("3.20001")

    set_price(e2e_redis, "0.0012")
    push(e2e_redis, signal_type="SELL")
    wait_for(lambda: signal_done(pipeline, 4), what="the sell signal")
    assert executions(pipeline)[trader][-1] == ("EXECUTED", "close", None)
    with pipeline.connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.AgentPosition)).scalar() == 0
        closed = conn.execute(select(m.AgentHistoricalSwap)).one()
    assert closed.close_reason == "signal"
    assert closed.profit_loss_sol == Decimal("4.2") - Decimal("0.000005") - Decimal("3.20001")
    assert e2e_redis.hget(f"sf:positions:{trader}", MINT) is None


def test_the_same_message_or_task_twice_executes_once(pipeline: Engine, e2e_redis: redis.Redis,
                                                      sender: Celery) -> None:
    trader = agent(pipeline, "twice", "10", FIXED_SIZE)
    set_price(e2e_redis, "0.001")
    push(e2e_redis, idempotency_key="provider-42")
    push(e2e_redis, idempotency_key="provider-42")
    wait_for(lambda: signal_done(pipeline, 1), what="the signal")
    with pipeline.connect() as conn:
        signal_id = conn.execute(select(m.TradingSignal.id)).scalar_one()
    for _ in range(2):
        sender.send_task("signals.execute", args=[signal_id, [str(trader)]], queue="signals")
        sender.send_task("signals.fan_out", args=[signal_id], queue="signals")
    wait_for(lambda: e2e_redis.llen("signals") == 0, what="the queue to drain")
    wait_for(lambda: signal_done(pipeline, 1), what="redeliveries to settle")
    assert executions(pipeline) == {trader: [("EXECUTED", "open", None)]}
    with pipeline.connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.AgentTransaction).where(
            m.AgentTransaction.transaction_type == "SWAP")).scalar() == 1


def test_an_invalid_message_is_dead_lettered_and_changes_nothing(
        pipeline: Engine, e2e_redis: redis.Redis) -> None:
    agent(pipeline, "bystander", "10")
    set_price(e2e_redis, "0.001")
    e2e_redis.xadd(SIGNALS_STREAM, {"payload": json.dumps(
        {"token_address": MINT, "signal_type": "buy", "signal_strength": "50"})})
    e2e_redis.xadd(SIGNALS_STREAM, {"payload": "{not json"})
    dead = wait_for(lambda: e2e_redis.xrange(DEAD_SIGNALS_STREAM), what="dead letters")
    wait_for(lambda: len(e2e_redis.xrange(DEAD_SIGNALS_STREAM)) == 2, what="both dead letters")
    dead = e2e_redis.xrange(DEAD_SIGNALS_STREAM)
    assert [d[1]["field"] for d in dead] == ["signal_strength", "payload"]
    with pipeline.connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.TradingSignal)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(m.SignalExecution)).scalar() == 0


def test_python_providers_send_the_ingest_task(pipeline: Engine, e2e_redis: redis.Redis,
                                                sender: Celery) -> None:
    trader = agent(pipeline, "pyprov", "10", FIXED_SIZE)
    set_price(e2e_redis, "0.001")
    payload = {"token_address": MINT, "signal_type": "Velocity (Dex Boost Detection)",
               "signal_strength": 77, "source": "python"}
    sender.send_task("signals.ingest", args=[payload], queue="signals")
    sender.send_task("signals.ingest", args=[{**payload, "signal_strength": 0}], queue="signals")
    wait_for(lambda: signal_done(pipeline, 1), what="the task-ingested signal")
    assert executions(pipeline) == {trader: [("EXECUTED", "open", None)]}
    dead = wait_for(lambda: e2e_redis.xrange(DEAD_SIGNALS_STREAM), what="the rejected payload")
    assert dead[0][1]["field"] == "signal_strength"


def test_the_outbox_sweeper_recovers_a_signal_never_enqueued(
        pipeline: Engine, e2e_redis: redis.Redis, sender: Celery) -> None:
    from domain.signals import Signal

    trader = agent(pipeline, "orphan", "10", FIXED_SIZE)
    set_price(e2e_redis, "0.001")
    uow = SqlAlchemyUnitOfWork(make_session_factory(pipeline))
    with uow:  # committed, but the process "crashed" before enqueueing its fan-out
        uow.signals.add(Signal(MINT, "buy", 60), datetime(2026, 1, 1, tzinfo=UTC))
        uow.commit()
    sender.send_task("signals.requeue_stale", queue="signals")
    wait_for(lambda: signal_done(pipeline, 1), what="the swept signal")
    assert executions(pipeline) == {trader: [("EXECUTED", "open", None)]}


def test_a_burst_in_one_ingest_many_task(pipeline: Engine, e2e_redis: redis.Redis,
                                         sender: Celery) -> None:
    trader = agent(pipeline, "bursty", "10", FIXED_SIZE)
    set_price(e2e_redis, "0.001")
    good = {"token_address": MINT, "signal_type": "buy", "signal_strength": 60}
    sender.send_task("signals.ingest_many", queue="signals", args=[[
        good, {**good, "signal_strength": 101}, {**good, "idempotency_key": "k"},
        {**good, "idempotency_key": "k"}]])
    wait_for(lambda: signal_done(pipeline, 2), what="the burst")
    # The two signals race for the agent's lock: one opens, the other finds the position.
    assert sorted(executions(pipeline)[trader]) == [("EXECUTED", "open", None),
                                                    ("SKIPPED", "none", "position_exists")]
    dead = wait_for(lambda: e2e_redis.xrange(DEAD_SIGNALS_STREAM), what="the rejected payload")
    assert [d[1]["field"] for d in dead] == ["signal_strength"]


def executed_by(proc: Proc, since: int, signal_id: int) -> bool:
    """Whether ``proc``'s log past ``since`` characters shows it executing the signal for an
    agent (signal ids start again at 1 in each test's clean database)."""
    return any("signal.executed" in line and f"signal_id={signal_id} " in f"{line} "
               for line in proc.output()[since:].splitlines())


def test_a_small_fan_out_runs_in_the_ingestor_and_a_large_one_on_the_workers(
        pipeline: Engine, e2e_redis: redis.Redis, ingestor: Proc, worker: Proc) -> None:
    """The low-latency path: a signal reaching at most SIGNALFLEET_INLINE_FANOUT_AGENTS
    (10) agents is executed by the ingestor, with no Celery hop; eleven go to the workers
    (the ingestor records their dispatch and hands the chunk on)."""
    logs = {proc: len(proc.output()) for proc in (ingestor, worker)}
    set_price(e2e_redis, "0.001")
    few = [agent(pipeline, f"few-{i}", "10", {**FIXED_SIZE, "signals": {"minScore": 60}})
           for i in range(3)]
    push(e2e_redis, signal_strength=70)
    wait_for(lambda: signal_done(pipeline, 1), what="the small fan-out")
    many = [agent(pipeline, f"many-{i}", "10", FIXED_SIZE) for i in range(11)]
    StaticPriceFeed(e2e_redis, Clock()).set_price(OTHER_MINT, Decimal("0.002"))
    push(e2e_redis, token_address=OTHER_MINT, signal_strength=50)
    wait_for(lambda: signal_done(pipeline, 2), what="the large fan-out")
    with pipeline.connect() as conn:
        ids = dict(conn.execute(select(m.TradingSignal.token_address, m.TradingSignal.id)).all())
    done = executions(pipeline)
    assert {a for a in done if ("EXECUTED", "open", None) in done[a]} == {*few, *many}
    assert executed_by(ingestor, logs[ingestor], ids[MINT])
    assert not executed_by(worker, logs[worker], ids[MINT])
    assert executed_by(worker, logs[worker], ids[OTHER_MINT])
    assert not executed_by(ingestor, logs[ingestor], ids[OTHER_MINT])
