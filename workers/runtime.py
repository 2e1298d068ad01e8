"""Per-process wiring for tasks and ingestors: the container and the handlers' dependencies.

Built lazily on first use in each process (a forked Celery child builds its own engine and
Redis pool); ``reset()`` runs after fork.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from datetime import UTC, datetime
from functools import cached_property

import httpx
import structlog

from domain.agents import TokenMetrics
from domain.money import install_context
from domain.ports import PriceFeed, SwapExecutor
from persistence.cache import Cache
from workers.adapters.http import RedisCooldown, RetryPolicy
from workers.adapters.jupiter import JupiterClient
from workers.adapters.live_fills import token_decimals
from workers.adapters.paper import PaperSwapExecutor
from workers.adapters.prices import (
    DexScreenerPriceFeed,
    JupiterPriceFeed,
    ReplayPriceFeed,
    StaticPriceFeed,
)
from workers.adapters.solana_rpc import SolanaRpc
from workers.adapters.wallets import WalletRegistry, load_wallets, redaction_strings
from workers.bootstrap import Container
from workers.handlers.execute import ExecutionDeps, execute_signal
from workers.handlers.fan_out import FanOutDeps
from workers.handlers.live import LiveConfig, LiveDeps
from workers.handlers.live_intents import LiveSwaps
from workers.handlers.live_record import RecordDeps
from workers.handlers.trades import Touched
from workers.logging import configure_logging, register_secrets
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
    def http_policy(self) -> RetryPolicy:
        """Every HTTP adapter's retries; a 429 pauses the whole fleet's calls to that API."""
        return RetryPolicy(max_attempts=self.settings.http_max_attempts,
                           cooldown=RedisCooldown(self.redis))

    @cached_property
    def cache(self) -> Cache:
        return Cache(self.redis)

    @cached_property
    def prices(self) -> PriceFeed:
        s = self.settings
        policy = self.http_policy
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
        return self.paper if mode == "simulation" else None  # live: see entry_swaps_for

    def entry_swaps_for(self, mode: str, wallet_address: str) -> SwapExecutor | None:
        """Signals: a loaded live wallet gets ``LiveSwaps`` (an intent, run by live.execute)."""
        if mode == "live":
            return LiveSwaps(wallet_address) if wallet_address in self.wallets else None
        return self.swaps_for(mode, wallet_address)

    @cached_property
    def wallets(self) -> WalletRegistry:
        """``WALLET_n`` keys, loaded once per process; their text forms are registered with
        the log redaction. Problems are logged by variable name only (never the value)."""
        registry = load_wallets(os.environ)
        register_secrets(redaction_strings(registry))
        return registry

    @cached_property
    def jupiter(self) -> JupiterClient:
        s = self.settings
        return JupiterClient(self.http, base_url=s.jupiter_swap_url, api_key=s.jupiter_api_key,
                             policy=self.http_policy)

    @cached_property
    def rpc(self) -> SolanaRpc:
        return SolanaRpc(self.settings.rpc_url, self.http,
                         policy=self.http_policy)

    def live_deps(self) -> LiveDeps:
        s = self.settings
        record = RecordDeps(uow=self.uow, rpc=self.rpc, write_cache=self.write_cache,
                            clock=self.clock)
        config = LiveConfig(slippage_bps=s.slippage_bps,
                            max_priority_lamports=s.max_priority_fee_lamports,
                            confirm_timeout_s=s.live_confirm_timeout_seconds,
                            poll_s=s.live_poll_seconds, resend_s=s.live_resend_seconds)
        return LiveDeps(record=record, jupiter=self.jupiter, wallets=self.wallets,
                        token_decimals=lambda mint: token_decimals(self.rpc, mint),
                        sleep=time.sleep, monotonic=time.monotonic, config=config)

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
        return ExecutionDeps(uow=self.uow, prices=self.prices, swaps=self.entry_swaps_for,
                             write_cache=self.write_cache, clock=self.clock,
                             rng=random.Random(),
                             max_open_positions=self.settings.max_open_positions,
                             submit_live=lambda sid: self.send("live.execute", str(sid)),
                             vocabulary=self.settings.vocabulary)

    def fan_out_deps(self) -> FanOutDeps:
        deps = self.execution_deps()
        return FanOutDeps(
            uow=self.uow, metrics=self.metrics_for, clock=self.clock,
            dispatch=lambda sid, ids: self.send("signals.execute", sid, [str(i) for i in ids]),
            chunk_size=self.settings.fanout_chunk_size, vocabulary=self.settings.vocabulary,
            execute_inline=lambda sid, ids, signal: execute_signal(sid, ids, deps, signal))

    def enqueue_fan_out(self, signal_id: int) -> None:
        self.send("signals.fan_out", signal_id)

    def enqueue_fan_out_batch(self, signal_ids: list[int]) -> None:
        """A batch of new signals as a few messages (one per ~2 workers' share), not one each."""
        size = max(1, -(-len(signal_ids) // (2 * self.settings.worker_concurrency)))
        for i in range(0, len(signal_ids), size):
            self.send("signals.fan_out_many", signal_ids[i:i + size])


_runtime: Runtime | None = None


def runtime(settings: Settings | None = None) -> Runtime:
    global _runtime
    if _runtime is None or _runtime._pid != os.getpid():
        s = settings or get_settings()
        install_context()
        configure_logging(s.log_format, s.log_level)
        _runtime = Runtime(s)
        _runtime.wallets  # noqa: B018 -- keys load (and redaction registers) at process start
    return _runtime


def reset() -> None:
    global _runtime
    _runtime = None


def as_uuids(values: list[str]) -> list[uuid.UUID]:
    return [uuid.UUID(v) for v in values]

