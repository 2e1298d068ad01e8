"""A query interrupted mid-flight — the task's soft time limit raised while psycopg waits
for a lock — leaves its connection busy ("another command is already in progress" for
whatever comes next). The unit of work cancels the query on the server and discards the
connection; a busy connection met anywhere else is invalidated like a lost one, so the task
sees a transient error and is retried, never a dead-lettering one (real PostgreSQL)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from persistence.db import PoolConfig, make_engine, make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork

SLEEP = "SELECT pg_sleep(30) /* interrupted */"


class SoftTimeLimit(Exception):
    """Stands for Celery's SoftTimeLimitExceeded: raised while a query is in flight."""


def _in_flight(raw: Any) -> None:
    raw.pgconn.send_query(SLEEP.encode())  # sent, its answer never read: the connection is busy


def _sleeping(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%/* interrupted */' "
            "AND state = 'active' AND pid <> pg_backend_pid()")).scalar_one())


@pytest.fixture
def small(database_url: str) -> Any:
    engine = make_engine(database_url, PoolConfig(size=1, max_overflow=0, timeout=5))
    yield engine
    engine.dispose()


def test_the_unit_of_work_cancels_the_query_and_discards_the_connection(
        small: Engine, clean_db: Engine) -> None:
    uow = SqlAlchemyUnitOfWork(make_session_factory(small))
    with pytest.raises(SoftTimeLimit), uow:  # the task's own exception, not a database one
        uow.session.execute(text("SELECT 1"))
        _in_flight(uow.session.connection().connection.driver_connection)
        raise SoftTimeLimit
    deadline = time.monotonic() + 5
    while _sleeping(clean_db) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sleeping(clean_db) == 0  # cancelled on the server, not left waiting
    with uow:  # the pool's only slot: a fresh connection
        assert uow.session.execute(text("SELECT 2")).scalar_one() == 2


def test_a_busy_connection_elsewhere_is_invalidated_like_a_lost_one(small: Engine) -> None:
    with small.connect() as conn:
        _in_flight(conn.connection.driver_connection)
        with pytest.raises(DBAPIError) as failed:
            conn.execute(text("SELECT 1"))
        assert failed.value.connection_invalidated  # the unit of work maps it to a retry
    with small.connect() as conn:
        assert conn.execute(text("SELECT 3")).scalar_one() == 3
