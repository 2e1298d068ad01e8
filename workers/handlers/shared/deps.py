"""The dependencies of every use case, as one value built once per process by the wiring
module (``workers/wiring.py``); tests build it from the fakes. Every field is a port of
``domain/ports.py`` or a plain setting: the handlers see nothing else."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from domain.ports import (
    CacheWriter,
    Clock,
    LiveVenue,
    MetricsSource,
    PriceFeed,
    SwapExecutor,
    TaskQueue,
    UnitOfWorkFactory,
)
from domain.sizing import MAX_OPEN_POSITIONS
from domain.vocabulary import DEFAULT_VOCABULARY, Vocabulary
from workers.handlers.shared.trades import Touched


@dataclass(frozen=True)
class Policy:
    """The system-wide numbers of trading (docs/rules.md §3) and of the pipeline."""

    max_open_positions: int = MAX_OPEN_POSITIONS
    fanout_chunk_size: int = 100
    # The low-latency path (fan_out.fan_out_here): the stream ingestor executes a signal
    # itself when it reaches at most this many agents (0: never), for batches of at most
    # inline_signals signals; anything larger goes to the workers in chunks.
    inline_agents: int = 0
    inline_signals: int = 4
    sweep_chunk_size: int = 10  # tokens per positions.sweep_tokens task
    price_freshness: timedelta = timedelta(seconds=30)
    pending_grace: timedelta = timedelta(seconds=30)
    # How long after its receipt a signal still waits for an agent's turn (an earlier signal
    # on the token, a live swap in flight) before that agent's execution FAILs (rules §3).
    signal_max_wait: timedelta = timedelta(minutes=5)
    price_history_raw: timedelta = timedelta(hours=24)  # raw rows kept, then 1-minute bars
    rng: random.Random = field(default_factory=random.Random)


@dataclass(frozen=True)
class LiveConfig:
    """How live swaps are quoted, sent and confirmed (docs/rules.md §12)."""

    slippage_bps: int = 50
    max_priority_lamports: int = 1_000_000
    confirm_timeout_s: float = 30.0
    poll_s: float = 1.0
    resend_s: float = 2.0
    submitted_idle_s: float = 30.0
    intent_grace_s: float = 120.0
    sync_settle_s: float = 60.0  # the wallet sync leaves a wallet this long after a swap


@dataclass(frozen=True)
class Deps:
    uow: UnitOfWorkFactory
    cache: CacheWriter
    clock: Clock
    queue: TaskQueue
    prices: PriceFeed
    metrics: MetricsSource
    paper: SwapExecutor
    venue: LiveVenue
    policy: Policy = Policy()
    live: LiveConfig = LiveConfig()
    vocabulary: Vocabulary = DEFAULT_VOCABULARY  # which signal types enter and exit
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic

    def write_cache(self, touched: Touched) -> None:
        """The Redis write-through of one committed transaction (an after-commit hook)."""
        self.cache.write(balances=touched.balances, positions=touched.positions.values(),
                         closed=touched.closed)
