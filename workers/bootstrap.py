"""The composition root: one per process. Builds engines, clients and adapters from settings.

Nothing here runs at import time; ``Container`` builds each dependency on first use, so a
forked Celery child builds its own engine and Redis pool after the fork.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import parse_qsl, urlencode

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from persistence import schema
from persistence.db import PoolConfig, make_engine, make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from workers.settings import Settings


@dataclass(frozen=True)
class ServiceUrls:
    database_url: str
    redis_url: str
    broker_url: str
    embedded: bool


def resolve_urls(settings: Settings) -> ServiceUrls:
    """Configured URLs, or the embedded servers' when none are configured."""
    db = settings.database_url.get_secret_value() if settings.database_url else None
    cache = settings.redis_url.get_secret_value() if settings.redis_url else None
    broker = settings.broker_url.get_secret_value() if settings.broker_url else None
    embedded = db is None or cache is None
    if embedded:
        from workers.embedded import ensure_embedded

        urls = ensure_embedded(settings.var_dir)
        db = db or urls.database_url
        cache = cache or urls.redis_url
    assert db is not None and cache is not None
    return ServiceUrls(db, cache, broker or cache, embedded)


def export_urls(urls: ServiceUrls) -> dict[str, str]:
    """Environment for child processes so they reuse the same servers without resolving."""
    return {
        "SIGNALFLEET_DATABASE_URL": urls.database_url,
        "SIGNALFLEET_REDIS_URL": urls.redis_url,
        "SIGNALFLEET_BROKER_URL": urls.broker_url,
    }


def celery_broker_url(url: str) -> str:
    """kombu spells a Redis unix socket ``redis+socket://path?virtual_host=N``; redis-py spells
    it ``unix://path?db=N``. kombu ignores ``db=`` there, so the number moves to virtual_host."""
    if not url.startswith("unix://"):
        return url
    path, _, query = url[len("unix://"):].partition("?")
    params = [("virtual_host" if k == "db" else k, v) for k, v in parse_qsl(query)]
    return f"redis+socket://{path}" + (f"?{urlencode(params)}" if params else "")


class Container:
    def __init__(self, settings: Settings, urls: ServiceUrls | None = None) -> None:
        self.settings = settings
        self._urls = urls
        self._pid = os.getpid()

    @cached_property
    def urls(self) -> ServiceUrls:
        return self._urls or resolve_urls(self.settings)

    @cached_property
    def engine(self) -> Engine:
        s = self.settings
        return make_engine(self.urls.database_url,
                           PoolConfig(s.db_pool_size, s.db_max_overflow, s.db_pool_timeout))

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.urls.redis_url, decode_responses=True,
                                    health_check_interval=30)

    def uow(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.session_factory)

    def require_schema_at_head(self) -> None:
        schema.require_head(self.engine)

    def dispose(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "redis" in self.__dict__:
            self.redis.close()
