"""What the HTTP ingest tests share: the app on the real database and broker, keys, posts."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import pytest
import redis
from celery import Celery
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from workers.bootstrap import CeleryQueue, Container, ServiceUrls, celery_broker_url
from workers.handlers.operators.keys import create_key
from workers.http import create_app
from workers.settings import Settings

BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
VALID = {"token_address": BONK, "signal_type": "buy", "signal_strength": 80, "symbol": "BONK"}


class FixedClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class BrokerRuntime(Container):
    """The real container on the test services; its task queue publishes to a private queue
    of the test broker (a running e2e worker never takes it) and records whether the
    signal's row was already committed when the message left."""

    def __init__(self, settings: Settings, urls: ServiceUrls, engine: Engine) -> None:
        super().__init__(settings, urls)
        self.queue_name = f"http-test-{uuid.uuid4().hex[:8]}"
        self.producer = Celery("http-test", broker=celery_broker_url(urls.broker_url))
        self.committed_at_send: list[bool] = []
        self._db = engine

    @cached_property
    def queue(self) -> CeleryQueue:
        return CeleryQueue(self.send, 1)

    def send(self, name: str, args: list[object]) -> None:
        with self._db.connect() as conn:
            row = conn.execute(text("SELECT 1 FROM trading_signals WHERE id = :id"),
                               {"id": args[0]}).first()
        self.committed_at_send.append(row is not None)
        self.producer.send_task(name, args=args, queue=self.queue_name)


@pytest.fixture
def make_client(clean_db: Engine, redis_client: redis.Redis, database_url: str,
                redis_url: str) -> Iterator[Callable[..., tuple[TestClient, BrokerRuntime]]]:
    made: list[tuple[TestClient, BrokerRuntime]] = []

    def make(rate_limit: int = 1000,
             broker_url: str | None = None) -> tuple[TestClient, BrokerRuntime]:
        s = Settings(_env_file=None, http_rate_limit_per_minute=rate_limit)  # type: ignore[call-arg]
        urls = ServiceUrls(database_url, redis_url, broker_url or redis_url, False)
        rt = BrokerRuntime(s, urls, clean_db)
        client = TestClient(create_app(rt), raise_server_exceptions=False)
        made.append((client, rt))
        return client, rt

    yield make
    for client, rt in made:
        client.close()
        rt.producer.close()
        rt.dispose()


@pytest.fixture
def uow_factory(clean_db: Engine) -> Callable[[], SqlAlchemyUnitOfWork]:
    factory = make_session_factory(clean_db)
    return lambda: SqlAlchemyUnitOfWork(factory)


@pytest.fixture
def api_key(uow_factory: Callable[[], SqlAlchemyUnitOfWork]) -> str:
    return create_key(uow_factory(), FixedClock(), user_email="provider@example.com",
                      scopes=["signals"]).key


def count_signals(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM trading_signals")).scalar_one())


def queued(client: redis.Redis, queue: str) -> list[tuple[str, Any]]:
    """(task name, args) of every message waiting in a kombu Redis queue."""
    out = []
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        body = json.loads(base64.b64decode(message["body"]))
        out.append((message["headers"]["task"], body[0]))
    return out


def post(client: TestClient, body: Any, key: str | None) -> Any:
    headers = {} if key is None else {"X-API-Key": key}
    content = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post("/v1/signals", content=content,
                       headers={**headers, "Content-Type": "application/json"})
