"""Per-process wiring for tasks and ingestors: the container and the handlers' dependencies.

Built lazily on first use in each process (a forked Celery child builds its own engine and
Redis pool); ``reset()`` runs after fork.
"""

from __future__ import annotations

import os
import random
import uuid
from datetime import UTC, datetime
from functools import cached_property

import httpx
import structlog

from domain.agents import TokenMetrics
from domain.money import install_context
from domain.ports import PriceFeed, SwapExecutor
from persistence.cache import Cache
from workers.adapters.http import RetryPolicy
from workers.adapters.paper import PaperSwapExecutor
from workers.adapters.prices import (
    DexScreenerPriceFeed,
    JupiterPriceFeed,
    ReplayPriceFeed,
    StaticPriceFeed,
)
from workers.bootstrap import Container
from workers.handlers.execute import ExecutionDeps
from workers.handlers.fan_out import FanOutDeps
from workers.handlers.trades import Touched
from workers.logging import configure_logging
from workers.settings import Settings, get_settings

log = structlog.get_logger(__name__)
REPLAY_START_KEY = "sf:replay:start"


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Runtime(Container):
    """The container plus what the pipeline needs."""

    clock = SystemClock()

    @cached_property
    def http(self) -> httpx.Client:
        return httpx.Client(timeout=self.settings.http_timeout_seconds)

    @cached_property
    def cache(self) -> Cache:
        return Cache(self.redis)

    @cached_property
    def prices(self) -> PriceFeed:
        s = self.settings
        policy = RetryPolicy(max_attempts=s.http_max_attempts)
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
        s = self.settings
        return PaperSwapExecutor(slippage_bps=s.paper_slippage_bps,
                                 protocol_fee_bps=s.paper_protocol_fee_bps,
                                 network_fee_sol=s.paper_network_fee_sol)

    def swaps_for(self, mode: str, wallet_address: str) -> SwapExecutor | None:
        return self.paper if mode == "simulation" else None  # live: wallets loaded later

    def metrics_for(self, token_address: str) -> TokenMetrics | None:
        if isinstance(self.prices, DexScreenerPriceFeed):
            found = self.prices.get_metrics([token_address]).get(token_address)
            return found
        return None

    def write_cache(self, touched: Touched) -> None:
        self.cache.write(balances=touched.balances, positions=touched.positions.values(),
                         closed=touched.closed)

    def send(self, name: str, *args: object) -> None:
        from workers.celery_app import app

        app.send_task(name, args=list(args))

    def execution_deps(self) -> ExecutionDeps:
        return ExecutionDeps(uow=self.uow, prices=self.prices, swaps=self.swaps_for,
                             write_cache=self.write_cache, clock=self.clock,
                             rng=random.Random(),
                             max_open_positions=self.settings.max_open_positions)

    def fan_out_deps(self) -> FanOutDeps:
        return FanOutDeps(
            uow=self.uow, metrics=self.metrics_for, clock=self.clock,
            dispatch=lambda sid, ids: self.send("signals.execute", sid, [str(i) for i in ids]),
            chunk_size=self.settings.fanout_chunk_size)


_runtime: Runtime | None = None


def runtime(settings: Settings | None = None) -> Runtime:
    global _runtime
    if _runtime is None or _runtime._pid != os.getpid():
        s = settings or get_settings()
        install_context()
        configure_logging(s.log_format, s.log_level)
        _runtime = Runtime(s)
    return _runtime


def reset() -> None:
    global _runtime
    _runtime = None


def as_uuids(values: list[str]) -> list[uuid.UUID]:
    return [uuid.UUID(v) for v in values]

