"""Shared fixtures: a migrated database per test run on real PostgreSQL, a Redis server of the
session's own (tests/services.py); the session fails if any server it started outlives it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import Engine, text

from persistence import schema
from persistence.db import PoolConfig, make_engine, make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.services import (
    TestServers,
    create_database,
    drop_database,
    leaked_processes,
    session_servers,
)

_TABLES = (
    "agent_historical_swaps, agent_positions, signal_executions, agent_transactions, "
    "agent_balance_snapshots, agent_balances, agent_wallets, trading_signals, token_prices, "
    "token_price_bars, "
    "api_keys, agents, users"
)


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestServers]:
    with session_servers(tmp_path_factory.mktemp("servers")) as found:
        yield found


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Every server and child process the session started is gone (fixtures are torn down
    by now); a leak fails the run, naming what is still running."""
    leaks = leaked_processes()
    if leaks:
        print(f"\nprocesses left running by this test session: {', '.join(leaks)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
def redis_url(servers: TestServers) -> str:
    """Database 1 of the session's own Redis: not 0, so a client that drops the number (as
    kombu did with unix sockets) misses its messages and fails the tests."""
    return servers.redis.url_for(1)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()
