"""Engine and session factories. Nothing is created at import time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, ExceptionContext, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from domain.errors import TransientError


@dataclass(frozen=True)
class PoolConfig:
    size: int = 10
    max_overflow: int = 20
    timeout: float = 30.0
    # Give up waiting for a row lock after this long (0: wait as long as it takes). The
    # stream ingestor's inline fan-outs set it, so a lock held elsewhere hands the signal to
    # the workers instead of stalling the stream (workers/handlers/signals/fan_out.py).
    lock_timeout_ms: int = 0


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
        connect_args=({"options": f"-c lock_timeout={pool.lock_timeout_ms}"}
                      if pool.lock_timeout_ms else {}),
    )
    event.listen(engine, "checkout", _refuse_busy)
    event.listen(engine, "handle_error", _busy_is_unusable)
    event.listen(engine, "handle_error", _lock_timeout_is_transient)
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


_LOCK_NOT_AVAILABLE = "55P03"


def _lock_timeout_is_transient(context: ExceptionContext) -> None:
    """A lock wait that ran out (``lock_timeout``) is a TransientError, as an unreachable
    database is: nothing was decided, the work is retried or handed on, and a handler never
    records it as a failed execution."""
    if getattr(context.original_exception, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
        raise TransientError("a row lock was not granted within lock_timeout") \
            from context.original_exception


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)
