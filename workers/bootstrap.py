"""The composition root: one per process (docs/architecture.md). It builds the
infrastructure (engine, Redis, HTTP clients, adapters) from settings once, and wires every
use case's dependencies (``Deps``) from it.

Nothing here runs at import time; ``Container`` builds each dependency on first use, so a
forked Celery child builds its own engine and Redis pool after the fork (``container()``
notices the new pid). Each dependency also imports its libraries on first use: a command
that only queries the database loads SQLAlchemy, not httpx, Redis, solders or Celery
(``make bench`` times ``fleet agents list``); the Celery app calls ``preload()`` so a
worker's children still inherit every adapter already imported. The Celery app registers
how tasks are sent (``use_sender``): this module never imports ``workers.celery_app``, which
imports it.
"""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qsl, urlencode

if TYPE_CHECKING:
    import httpx
    import redis
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from domain.agents import TokenMetrics
    from domain.ports import PriceFeed, UnitOfWork
    from persistence.cache import Cache
    from workers.adapters.http import RetryPolicy
    from workers.adapters.jupiter import JupiterClient
    from workers.adapters.live_venue import ChainVenue
    from workers.adapters.market_data import MetricsSource as MarketMetrics
    from workers.adapters.paper import PaperSwapExecutor
    from workers.adapters.solana_rpc import SolanaRpc
    from workers.adapters.wallets import WalletRegistry
    from workers.handlers.shared.deps import Deps
    from workers.settings import Settings

REPLAY_START_KEY = "sf:replay:start"
LIVE_KEYS = "sf:live:keys"  # the wallet addresses a live worker holds keys for (live_worker)


class Send(Protocol):
    def __call__(self, name: str, args: list[object], countdown: float | None = None) -> None:
        ...


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


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


_SENDER: list[Send] = []


def use_sender(send: Send) -> None:
    """How this process sends tasks (the Celery app registers ``send_task`` on import)."""
    _SENDER[:] = [send]


def _send(name: str, args: list[object], countdown: float | None = None) -> None:
    if not _SENDER:
        raise RuntimeError("no task queue in this process: import workers.celery_app first")
    _SENDER[0](name, args, countdown)


class CeleryQueue:
    """The ``TaskQueue`` port on Celery: task names and argument shapes live here only."""

    def __init__(self, send: Send, batch_share: int) -> None:
        self._send, self._share = send, max(1, batch_share)

    def fan_out(self, signal_ids: Sequence[int]) -> None:
        """One ``signals.fan_out`` for one signal; a batch as a few ``fan_out_many``
        messages (one per ~two workers' share), not one each."""
        ids = list(signal_ids)
        if len(ids) == 1:
            self._send("signals.fan_out", [ids[0]])
            return
        size = max(1, -(-len(ids) // self._share))
        for i in range(0, len(ids), size):
            self._send("signals.fan_out_many", [ids[i:i + size]])

    def execute(self, signal_id: int, agent_ids: Sequence[uuid.UUID], attempt: int = 0,
                delay_s: float = 0.0) -> None:
        ids = [str(a) for a in agent_ids]
        if attempt:  # agents waiting for their turn (docs/rules.md §3)
            self._send("signals.execute", [signal_id, ids, attempt], countdown=delay_s or None)
        else:
            self._send("signals.execute", [signal_id, ids])

    def run_live(self, submission_id: uuid.UUID) -> None:
        self._send("live.execute", [str(submission_id)])

    def sweep_tokens(self, token_addresses: Sequence[str]) -> None:
        self._send("positions.sweep_tokens", [list(token_addresses)])


class Metrics:
    """The ``MetricsSource`` port over the source ``SIGNALFLEET_METRICS_SOURCE`` names
    (Jupiter's Tokens API, DexScreener, or none: every metric then unknown)."""

    def __init__(self, source: MarketMetrics | None) -> None:
        self._source = source

    def metrics_for(self, token_address: str) -> TokenMetrics | None:
        if self._source is None:
            return None
        return self._source.get_metrics([token_address]).get(token_address)


class Container:
    """Everything a process builds once, on first use."""

    clock = SystemClock()

    def __init__(self, settings: Settings, urls: ServiceUrls | None = None) -> None:
        self.settings = settings
        self._urls = urls
        self._pid = os.getpid()

    @cached_property
    def urls(self) -> ServiceUrls:
        return self._urls or resolve_urls(self.settings)

    @cached_property
    def engine(self) -> Engine:
        return self._build_engine()

    def _build_engine(self, lock_timeout_ms: int = 0) -> Engine:
        from persistence.db import PoolConfig, make_engine

        s = self.settings
        return make_engine(self.urls.database_url, PoolConfig(
            s.db_pool_size, s.db_max_overflow, s.db_pool_timeout, lock_timeout_ms))

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        from persistence.db import make_session_factory

        return make_session_factory(self.engine)

    @cached_property
    def redis(self) -> redis.Redis:
        import redis

        return redis.Redis.from_url(self.urls.redis_url, decode_responses=True,
                                    health_check_interval=30)

    def uow(self) -> UnitOfWork:
        from persistence.unit_of_work import SqlAlchemyUnitOfWork

        return SqlAlchemyUnitOfWork(self.session_factory)

    def require_schema_at_head(self) -> None:
        from persistence import schema

        schema.require_head(self.engine)

    @cached_property
    def http(self) -> httpx.Client:
        import httpx

        return httpx.Client(timeout=self.settings.http_timeout_seconds)

    @cached_property
    def http_policy(self) -> RetryPolicy:
        """Every HTTP adapter's retries; a 429 pauses the whole fleet's calls to that API."""
        from workers.adapters.http import RedisCooldown, RetryPolicy

        return RetryPolicy(max_attempts=self.settings.http_max_attempts,
                           cooldown=RedisCooldown(self.redis))

    @cached_property
    def cache(self) -> Cache:
        from persistence.cache import Cache

        return Cache(self.redis)

    @cached_property
    def prices(self) -> PriceFeed:
        from workers.adapters.prices import (
            DexScreenerPriceFeed,
            JupiterPriceFeed,
            ReplayPriceFeed,
            StaticPriceFeed,
        )

        s, policy = self.settings, self.http_policy
        if s.price_feed == "jupiter":
            return JupiterPriceFeed(self.http, self.clock, url=s.jupiter_price_url,
                                    api_key=s.jupiter_api_key, policy=policy)
        if s.price_feed == "dexscreener":
            return DexScreenerPriceFeed(self.http, self.clock, base_url=s.dexscreener_url,
                                        policy=policy)
        if s.price_feed == "replay":
            if s.replay_file is None:
                raise RuntimeError("SIGNALFLEET_REPLAY_FILE is required with the replay feed")
            return ReplayPriceFeed(s.replay_file, self.clock, self.replay_start(), s.replay_speed)
        return StaticPriceFeed(self.redis, self.clock)

    def replay_start(self) -> datetime:
        """One start instant shared by every process replaying the market."""
        self.redis.set(REPLAY_START_KEY, self.clock.now().isoformat(), nx=True)
        return datetime.fromisoformat(str(self.redis.get(REPLAY_START_KEY)))

    @cached_property
    def paper(self) -> PaperSwapExecutor:
        from workers.adapters.paper import PaperSwapExecutor
        from workers.adapters.price_impact import make_impact_model

        s = self.settings
        return PaperSwapExecutor(slippage_bps=s.paper_slippage_bps,
                                 protocol_fee_bps=s.paper_protocol_fee_bps,
                                 network_fee_sol=s.paper_network_fee_sol,
                                 impact=make_impact_model(s, self.http, self.http_policy))

    @cached_property
    def wallets(self) -> WalletRegistry:
        """``WALLET_n`` keys, loaded once per process; their text forms are registered with
        the log redaction. Problems are logged by variable name only (never the value)."""
        from workers.adapters.wallets import load_wallets, redaction_strings
        from workers.logging import register_secrets

        registry = load_wallets(os.environ)
        register_secrets(redaction_strings(registry))
        return registry

    @cached_property
    def jupiter(self) -> JupiterClient:
        from workers.adapters.jupiter import JupiterClient

        s = self.settings
        return JupiterClient(self.http, base_url=s.jupiter_swap_url, api_key=s.jupiter_api_key,
                             policy=self.http_policy, lookup_tables=self.rpc)

    @cached_property
    def rpc(self) -> SolanaRpc:
        from workers.adapters.solana_rpc import SolanaRpc

        return SolanaRpc(self.settings.rpc_url, self.http, policy=self.http_policy)

    @cached_property
    def venue(self) -> ChainVenue:
        from workers.adapters.live_venue import ChainVenue

        def announced(address: str) -> bool:
            return bool(self.redis.sismember(LIVE_KEYS, address))

        return ChainVenue(self.jupiter, self.rpc, self.wallets, announced)

    @cached_property
    def queue(self) -> CeleryQueue:
        return CeleryQueue(_send, 2 * self.settings.worker_concurrency)

    @cached_property
    def deps(self) -> Deps:
        """Every use case's dependencies (the one wiring of this process)."""
        from workers.adapters.market_data import make_metrics_source
        from workers.handlers.shared.deps import Deps, LiveConfig, Policy

        s = self.settings
        policy = Policy(max_open_positions=s.max_open_positions,
                        fanout_chunk_size=s.fanout_chunk_size,
                        price_freshness=timedelta(seconds=s.price_freshness_seconds),
                        pending_grace=timedelta(seconds=s.pending_grace_seconds),
                        signal_max_wait=timedelta(seconds=s.signal_max_wait_seconds),
                        price_history_raw=timedelta(hours=s.price_history_raw_hours))
        live = LiveConfig(slippage_bps=s.slippage_bps,
                          max_priority_lamports=s.max_priority_fee_lamports,
                          confirm_timeout_s=s.live_confirm_timeout_seconds,
                          poll_s=s.live_poll_seconds, resend_s=s.live_resend_seconds,
                          submitted_idle_s=s.live_submitted_idle_seconds,
                          intent_grace_s=s.live_intent_grace_seconds,
                          sync_settle_s=s.wallet_sync_settle_seconds)
        metrics = Metrics(make_metrics_source(s, self.http, self.http_policy))
        return Deps(uow=self.uow, cache=self.cache, clock=self.clock, queue=self.queue,
                    prices=self.prices, metrics=metrics, paper=self.paper, venue=self.venue,
                    policy=policy, live=live, vocabulary=s.vocabulary)

    @cached_property
    def ingest_engine(self) -> Engine:
        """The stream ingestor's engine: its row-lock waits give up after
        ``ingest_lock_timeout_ms``, so a lock held elsewhere (an operator's long transaction)
        hands a signal to the workers instead of stalling the stream."""
        return self._build_engine(self.settings.ingest_lock_timeout_ms)

    @cached_property
    def ingest_deps(self) -> Deps:
        """The stream ingestor's dependencies: the low-latency path on (a signal reaching at
        most ``inline_fanout_agents`` agents is executed by the ingestor), on its engine."""
        from persistence.db import make_session_factory
        from persistence.unit_of_work import SqlAlchemyUnitOfWork

        factory = make_session_factory(self.ingest_engine)
        policy = replace(self.deps.policy, inline_agents=self.settings.inline_fanout_agents)
        return replace(self.deps, uow=lambda: SqlAlchemyUnitOfWork(factory), policy=policy)

    def dispose(self) -> None:
        for engine in ("engine", "ingest_engine"):
            if engine in self.__dict__:
                self.__dict__[engine].dispose()
        if "redis" in self.__dict__:
            self.redis.close()


# What ``Container`` imports on first use, beyond the database: ``preload()`` imports it
# up front where start-up time does not matter and the first task's does (Celery workers).
ADAPTER_MODULES = (
    "httpx", "redis", "persistence.cache", "persistence.unit_of_work",
    "workers.adapters.http", "workers.adapters.jupiter", "workers.adapters.live_venue",
    "workers.adapters.market_data", "workers.adapters.paper", "workers.adapters.price_impact",
    "workers.adapters.prices", "workers.adapters.solana_rpc", "workers.adapters.wallets",
    "workers.handlers.shared.deps",
)


def preload() -> None:
    """Import every adapter now (a Celery worker's parent, before it forks its pool)."""
    for name in ADAPTER_MODULES:
        importlib.import_module(name)


_container: Container | None = None


def container(settings: Settings | None = None) -> Container:
    """This process's container, built on first use (and again after a fork)."""
    global _container
    if _container is None or _container._pid != os.getpid():
        from domain.money import install_context
        from workers.logging import configure_logging
        from workers.settings import get_settings

        s = settings or get_settings()
        install_context()
        configure_logging(s.log_format, s.log_level)
        _container = Container(s)
        _container.wallets  # noqa: B018 -- keys load (and redaction registers) at start
    return _container


def reset() -> None:
    global _container
    _container = None


def as_uuids(values: list[str]) -> list[uuid.UUID]:
    return [uuid.UUID(v) for v in values]
