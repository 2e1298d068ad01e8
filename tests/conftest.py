"""Shared fixtures: a migrated database per test run on real PostgreSQL, a real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import Engine, text

from persistence import schema
from persistence.db import PoolConfig, make_engine, make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.services import create_database, drop_database, find_servers, redis_test_url

_TABLES = (
    "agent_historical_swaps, agent_positions, signal_executions, agent_transactions, "
    "agent_balance_snapshots, agent_balances, agent_wallets, trading_signals, token_prices, "
    "api_keys, agents, users"
)


@pytest.fixture(scope="session")
def servers():  # type: ignore[no-untyped-def]
    return find_servers()


@pytest.fixture(scope="session")
def database_url(servers) -> Iterator[str]:  # type: ignore[no-untyped-def]
    url = create_database(servers.admin_database_url)
    schema.upgrade(url)
    yield url
    drop_database(servers.admin_database_url, url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url, PoolConfig(size=5, max_overflow=5, timeout=10))
    yield eng
    eng.dispose()


@pytest.fixture
def clean_db(engine: Engine) -> Engine:
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
    return engine


@pytest.fixture
def uow(clean_db: Engine) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(make_session_factory(clean_db))


@pytest.fixture(scope="session")
def redis_url(servers) -> str:  # type: ignore[no-untyped-def]
    return redis_test_url(servers.redis_base_url)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()
