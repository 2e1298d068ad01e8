"""Providers' strings as the reference engine takes them (docs/rules.md §1), on every channel
(HTTP, the Redis stream, the ``signals.ingest`` task) with the real worker: strings are
trimmed, a blank optional string is stored as null, and ``" sell "`` is the exit type."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
import redis
from celery import Celery
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from persistence import models as m
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.e2e.conftest import wait_for
from tests.e2e.test_pipeline import FIXED_SIZE, MINT, Clock, set_price, signal_done
from workers.bootstrap import CeleryQueue, Container, ServiceUrls
from workers.handlers.operators.agents import NewAgent, create_agent
from workers.handlers.operators.keys import create_key
from workers.http import create_app
from workers.ingest.stream import SIGNALS_STREAM
from workers.settings import Settings

PROVIDER = "provider@example.com"
Deliver = Callable[[dict[str, Any]], None]


@pytest.fixture
def http_client(pipeline: Engine, sender: Celery, database_url: str,
                redis_url: str) -> Iterator[tuple[TestClient, str]]:
    """The HTTP ingest in this process; its fan-out goes to the running worker's queue."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    rt = Container(settings, ServiceUrls(database_url, redis_url, redis_url, False))
    uow = SqlAlchemyUnitOfWork(make_session_factory(pipeline))
    key = create_key(uow, Clock(), user_email=PROVIDER, scopes=["signals"]).key
    queue = CeleryQueue(lambda name, args: sender.send_task(name, args=args, queue="signals"), 1)
    app = create_app(rt, deps=replace(rt.deps, queue=queue))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, key
    rt.dispose()


def _deliver(channel: str, request: pytest.FixtureRequest) -> Deliver:
    if channel == "http":
        client, key = request.getfixturevalue("http_client")

        def post(payload: dict[str, Any]) -> None:
            answer = client.post("/v1/signals", content=json.dumps(payload),
                                 headers={"X-API-Key": key, "Content-Type": "application/json"})
            assert answer.status_code == 201, answer.text
        return post
    if channel == "stream":
        e2e_redis: redis.Redis = request.getfixturevalue("e2e_redis")
        return lambda payload: e2e_redis.xadd(  # type: ignore[return-value]
            SIGNALS_STREAM, {"payload": json.dumps(payload)})
    sender: Celery = request.getfixturevalue("sender")
    return lambda payload: sender.send_task(  # type: ignore[return-value]
        "signals.ingest", args=[payload], queue="signals")


@pytest.mark.parametrize("channel", ["http", "stream", "task"])
def test_padded_types_trade_and_blank_strings_are_null(
        pipeline: Engine, e2e_redis: redis.Redis, channel: str,
        request: pytest.FixtureRequest) -> None:
    deliver = _deliver(channel, request)
    uow = SqlAlchemyUnitOfWork(make_session_factory(pipeline))
    trader = create_agent(uow, Clock(), NewAgent(name=f"trim-{channel}", deposit_sol=Decimal(10),
                                                 config=FIXED_SIZE, user_email=PROVIDER))
    set_price(e2e_redis, "0.001")
    deliver({"token_address": f" {MINT} ", "signal_type": " buy ", "signal_strength": 70,
             "symbol": "", "source": "   ", "activation_reason": "\t\n",
             "idempotency_key": f"{channel}-open"})
    wait_for(lambda: signal_done(pipeline, 1), what="the padded buy")
    with pipeline.connect() as conn:
        stored = conn.execute(select(m.TradingSignal)).one()
        opened = conn.execute(select(m.AgentPosition)).one()
    assert (stored.token_address, stored.signal_type, stored.idempotency_key) == (
        MINT, "buy", f"{channel}-open")
    assert (stored.symbol, stored.source, stored.activation_reason) == (None, None, None)
    assert opened.agent_id == trader and opened.token_symbol is None

    deliver({"token_address": MINT, "signal_type": " sell ", "signal_strength": 70,
             "symbol": " ", "idempotency_key": f"{channel}-close"})
    wait_for(lambda: signal_done(pipeline, 2), what="the padded sell")
    with pipeline.connect() as conn:
        types = conn.execute(select(m.TradingSignal.signal_type, m.TradingSignal.symbol)
                             .order_by(m.TradingSignal.id)).all()
        assert conn.execute(select(m.AgentPosition)).first() is None
        closed = conn.execute(select(m.AgentHistoricalSwap)).one()
    assert [tuple(row) for row in types] == [("buy", None), ("sell", None)]
    assert (closed.agent_id, closed.close_reason) == (trader, "signal")
