"""Plain psycopg connections for the read side (``persistence/queries.py``).

The CLI's listings open one without importing SQLAlchemy or the ORM, which is most of a quick
command's start-up (``make bench`` measures ``fleet agents list``); a process that already has
an engine lends one of its pooled connections instead (``borrowed``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import dict_row

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

CONNECT_TIMEOUT_S = 10


def libpq_url(url: str) -> str:
    """SQLAlchemy's ``postgresql+psycopg://…`` as libpq spells it (``postgresql://…``); the
    rest (user, password, host, socket directory, options) is the same in both."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+", 1)[0] not in ("postgresql", "postgres"):
        raise ValueError("the database URL must start with postgresql:// or "
                         "postgresql+psycopg://")
    return f"postgresql://{rest}"


def rows(conn: psycopg.Connection[Any], sql: str, params: dict[str, Any] | None = None
         ) -> list[dict[str, Any]]:
    """Every row of one statement as a dict by column name (the read side's plain queries:
    ``persistence/queries.py``, ``persistence/listings.py``)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql, params)
        return cur.fetchall()


@contextmanager
def connect(url: str) -> Iterator[psycopg.Connection[Any]]:
    """One read-only connection, closed on exit."""
    with psycopg.connect(libpq_url(url), connect_timeout=CONNECT_TIMEOUT_S) as conn:
        conn.read_only = True
        yield conn


@contextmanager
def borrowed(engine: Engine) -> Iterator[psycopg.Connection[Any]]:
    """One of ``engine``'s pooled connections as psycopg's own; rolled back as it returns to
    the pool."""
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert isinstance(conn, psycopg.Connection)
        yield conn
    finally:
        raw.close()


def of_session(session: Session) -> psycopg.Connection[Any]:
    """The psycopg connection under ``session``, in its transaction: the read API and the
    dashboard run the plain queries (``persistence/listings.py``) beside their ORM reads."""
    conn = session.connection().connection.driver_connection
    assert isinstance(conn, psycopg.Connection)
    return conn
