"""The signal vocabulary end to end, with the real worker and ingestor running the e2e
deployment's own vocabulary (tests/e2e/conftest.py: entries `buy` and `Velocity (Dex Boost
Detection)`, exits `sell` and `close`): a typo is dead-lettered from the stream and from the
``signals.ingest`` task naming ``signal_type`` and the accepted types, never bought; a task
whose JSON repeats a key is dead-lettered naming the key; a configured exit type closes."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any, cast

import redis
from celery import Celery
from sqlalchemy import Engine, func, select

from persistence import models as m
from tests.e2e.conftest import wait_for
from tests.e2e.test_pipeline import (
    FIXED_SIZE,
    MINT,
    agent,
    executions,
    push,
    set_price,
    signal_done,
)
from workers.ingest.dead_letters import DEAD_SIGNALS_STREAM

TYPOS = ["exit", "hodl", "sel"]
ACCEPTED = "buy, velocity (dex boost detection) (entry); sell, close (exit)"


def _dead(client: redis.Redis, count: int) -> list[dict[str, str]]:
    wait_for(lambda: client.xlen(DEAD_SIGNALS_STREAM) >= count, what=f"{count} dead letters")
    entries = cast("list[tuple[str, dict[str, str]]]", client.xrange(DEAD_SIGNALS_STREAM))
    return [d for _, d in entries]


def _stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(m.TradingSignal)).scalar_one())


def test_typos_are_dead_lettered_from_the_stream_and_the_task(
        pipeline: Engine, e2e_redis: redis.Redis, sender: Celery) -> None:
    agent(pipeline, "bystander", "10", FIXED_SIZE)
    set_price(e2e_redis, "0.001")
    for typo in TYPOS:
        push(e2e_redis, signal_type=typo)
        sender.send_task("signals.ingest", queue="signals", args=[
            {"token_address": MINT, "signal_type": typo, "signal_strength": 60}])
    dead = _dead(e2e_redis, 2 * len(TYPOS))
    assert sorted(d["source"] for d in dead) == ["stream"] * 3 + ["task"] * 3
    for entry in dead:
        assert entry["field"] == "signal_type"
        assert ACCEPTED in entry["reason"]
        assert json.loads(entry["payload"])["signal_type"] in TYPOS
    assert _stored(pipeline) == 0 and executions(pipeline) == {}


def _send_with_repeated_key(sender: Celery, client: redis.Redis, payload: dict[str, Any],
                            key: str, first: str) -> None:
    """A real ``signals.ingest`` message whose JSON names ``key`` twice (``first``, then the
    payload's value), as a provider in another language may write it: produced by Celery on
    a private queue, its body edited, then put on the ``signals`` queue."""
    probe = f"probe-{uuid.uuid4().hex[:8]}"
    sender.send_task("signals.ingest", args=[payload], queue=probe)
    message = json.loads(cast("str", client.rpop(probe)))
    body = base64.b64decode(message["body"]).decode()
    body = body.replace(f'"{key}": ', f'"{key}": {json.dumps(first)}, "{key}": ', 1)
    message["body"] = base64.b64encode(body.encode()).decode()
    message["properties"]["delivery_info"]["routing_key"] = "signals"
    client.lpush("signals", json.dumps(message))


def test_a_task_with_a_repeated_key_is_dead_lettered_naming_it(
        pipeline: Engine, e2e_redis: redis.Redis, sender: Celery) -> None:
    agent(pipeline, "bystander", "10", FIXED_SIZE)
    set_price(e2e_redis, "0.001")
    _send_with_repeated_key(sender, e2e_redis, {"token_address": MINT, "signal_type": "buy",
                                                "signal_strength": 60}, "signal_type", "sell")
    [dead] = _dead(e2e_redis, 1)
    assert dead["source"] == "task" and dead["field"] == "signal_type"
    assert "repeated" in dead["reason"]
    assert _stored(pipeline) == 0


def test_a_configured_entry_opens_and_a_configured_exit_closes(
        pipeline: Engine, e2e_redis: redis.Redis, sender: Celery) -> None:
    trader = agent(pipeline, "strategist", "10", FIXED_SIZE)
    set_price(e2e_redis, "0.001")
    sender.send_task("signals.ingest", queue="signals", args=[
        {"token_address": MINT, "signal_type": "Velocity (Dex Boost Detection)",
         "signal_strength": 60}])
    wait_for(lambda: signal_done(pipeline, 1), what="the strategy's entry")
    push(e2e_redis, signal_type="Close")
    wait_for(lambda: signal_done(pipeline, 2), what="the configured exit")
    assert executions(pipeline)[trader] == [("EXECUTED", "open", None),
                                            ("EXECUTED", "close", None)]
    with pipeline.connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.AgentPosition)).scalar() == 0
    assert e2e_redis.xlen(DEAD_SIGNALS_STREAM) == 0
