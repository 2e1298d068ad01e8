"""The chaos suite: the e2e processes (real ``celery worker``, stream ingestor) on a Redis and
a PostgreSQL of its own (so that restarting them disturbs nobody), with a 10 s visibility
timeout so redelivery after a kill takes seconds. Every test ends with every invariant
(tests/chaos/invariants.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from celery import Celery
from sqlalchemy import Engine

from persistence import schema
from tests import conftest as root
from tests.chaos.fleet import QUEUES, Fleet, settle
from tests.chaos.invariants import assert_invariants
from tests.chaos.server import PostgresServer, RedisServer
from tests.e2e import conftest as e2e
from tests.services import create_database, socket_requested

# Registered again here so that, in a run with other suites, these session fixtures are
# built on the chaos servers below rather than reused from the machine's.
e2e_redis, sender, stack_env = e2e.e2e_redis, e2e.sender, e2e.stack_env
engine, clean_db = root.engine, root.clean_db


@pytest.fixture(scope="session")
def chaos_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("chaos-redis"), unix_socket=socket_requested())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chaos_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_url(chaos_postgres: PostgresServer) -> str:
    url = create_database(chaos_postgres.admin_url)
    schema.upgrade(url)
    return url


@pytest.fixture(scope="session")
def redis_url(chaos_redis: RedisServer) -> str:
    return chaos_redis.url


@pytest.fixture(scope="session")
def extra_env() -> dict[str, str]:
    return {
        "SIGNALFLEET_VISIBILITY_TIMEOUT_SECONDS": "10",
        "SIGNALFLEET_TASK_SOFT_TIME_LIMIT_SECONDS": "5",
        "SIGNALFLEET_TASK_TIME_LIMIT_SECONDS": "8",
        "SIGNALFLEET_PENDING_GRACE_SECONDS": "2",
        "SIGNALFLEET_REQUEUE_STALE_SECONDS": "1",
        "SIGNALFLEET_DB_POOL_SIZE": "3",
        "SIGNALFLEET_DB_MAX_OVERFLOW": "2",
    }


@pytest.fixture(scope="session")
def fleet(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory,
          engine: Engine, sender: Celery) -> Iterator[Fleet]:
    f = Fleet(stack_env, tmp_path_factory.mktemp("chaos-procs"), sender)
    yield f
    f.stop_all()


@pytest.fixture
def chaos(clean_db: Engine, e2e_redis: redis.Redis, fleet: Fleet,
          sender: Celery) -> Iterator[Engine]:
    """A clean database and queues, w1 + ingestor running; every invariant checked after."""
    for key in (*QUEUES, "unacked", "unacked_index", "signalfleet:dead-tasks"):
        e2e_redis.delete(key)
    fleet.ensure()
    yield clean_db
    fleet.ensure()
    settle(clean_db, sender, e2e_redis)
    assert_invariants(clean_db)
