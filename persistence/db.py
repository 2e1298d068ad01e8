"""Engine and session factories. Nothing is created at import time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, ExceptionContext, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True)
class PoolConfig:
    size: int = 10
    max_overflow: int = 20
    timeout: float = 30.0


def make_engine(url: str, pool: PoolConfig | None = None, *, echo: bool = False) -> Engine:
    """An engine for one process. Call once per process (after fork), never per task."""
    pool = pool or PoolConfig()
    engine = create_engine(
        url,
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.timeout,
        pool_pre_ping=True,
        pool_recycle=1800,
        echo=echo,
    )
    event.listen(engine, "checkout", _refuse_busy)
    event.listen(engine, "handle_error", _busy_is_unusable)
    return engine


# A connection still busy with a query that was interrupted mid-flight (a task's soft time
# limit raised while psycopg waited) fails whatever comes next with one of these.
_BUSY = ("another command is already in progress", "connection in transaction status ACTIVE")


def _refuse_busy(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Never hand out such a connection: the pool discards it and checks out another."""
    info = getattr(dbapi_connection, "info", None)
    if info is not None and info.transaction_status == TransactionStatus.ACTIVE:
        raise DisconnectionError("connection busy with an interrupted query")


def _busy_is_unusable(context: ExceptionContext) -> None:
    """Whoever meets one (the pool's pre-ping, a statement) treats it as a lost connection:
    it is invalidated, and a task sees a transient error and is retried."""
    if any(text in str(context.original_exception) for text in _BUSY):
        context.is_disconnect = True


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)
