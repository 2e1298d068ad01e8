"""Engine and session factories. Nothing is created at import time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True)
class PoolConfig:
    size: int = 10
    max_overflow: int = 20
    timeout: float = 30.0


def make_engine(url: str, pool: PoolConfig | None = None, *, echo: bool = False) -> Engine:
    """An engine for one process. Call once per process (after fork), never per task."""
    pool = pool or PoolConfig()
    return create_engine(
        url,
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.timeout,
        pool_pre_ping=True,
        pool_recycle=1800,
        echo=echo,
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)
