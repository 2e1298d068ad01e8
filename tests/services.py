"""Real PostgreSQL and Redis for the integration, e2e and chaos tests.

Resolution order, per service: an explicit test URL (``SIGNALFLEET_TEST_DATABASE_URL`` /
``SIGNALFLEET_TEST_REDIS_URL``), else the machine's server on 127.0.0.1 when it listens,
else the embedded servers under ``var/test``. Never a fake.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class TestServers:
    admin_database_url: str
    redis_base_url: str


def find_servers() -> TestServers:
    db = os.environ.get("SIGNALFLEET_TEST_DATABASE_URL")
    cache = os.environ.get("SIGNALFLEET_TEST_REDIS_URL")
    if db is None and _listening(5432):
        db = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    if cache is None and _listening(6379):
        cache = "redis://127.0.0.1:6379"
    if db is None or cache is None:
        from workers.embedded import ensure_embedded

        urls = ensure_embedded(ROOT / "var" / "test")
        db = db or urls.database_url
        cache = cache or urls.redis_url
    return TestServers(db, cache)


def create_database(admin_url: str, prefix: str = "sf_test") -> str:
    """A fresh, empty database on the admin URL's server; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def redis_db_url(base: str, db: int) -> str:
    return f"{base}?db={db}" if base.startswith("unix://") else f"{base.rstrip('/')}/{db}"


def redis_test_url(base: str) -> str:
    """A Redis database of its own for this run (db 1-13 by process id), flushed."""
    url = redis_db_url(base, 1 + os.getpid() % 13)
    redis.Redis.from_url(url).flushdb()
    return url
