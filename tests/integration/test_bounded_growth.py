"""Bounded growth on real PostgreSQL and Redis (README "Bounded storage"): price history folds
into 1-minute bars after the raw window, the signals stream keeps only its backlog, the
dead-letter streams and the price cache stay within their stated sizes.

The short versions run here; the simulated full day for 500 held tokens runs in
``make chaos`` (tests/chaos/test_bounded_growth.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, text

from domain.ports import PriceQuote
from persistence.cache import PRICES_KEY, Cache
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.chaos.helpers import mint
from tests.fakes import Store, db_deps, make_deps
from tests.services import TestServers
from workers.handlers.positions.price_history import (
    downsample_prices,
    raw_cutoff,
)
from workers.handlers.shared.deps import Policy
from workers.ingest.dead_letters import (
    DEAD_LETTER_MAXLEN,
    DEAD_LETTER_TEXT_MAX,
    DEAD_SIGNALS_STREAM,
    DEAD_TASKS_STREAM,
    dead_letter,
    dead_task,
)
from workers.ingest.stream import SIGNALS_STREAM, StreamIngestor

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=24)
STEP_SECONDS = 2  # SIGNALFLEET_PRICES_REFRESH_SECONDS' default
SAMPLES_PER_MINUTE = 60 // STEP_SECONDS
BAR_BYTES_MAX = 300  # a bar row with its share of the primary key index, stated in README
DEAD_ENTRY_BYTES_MAX = 4_600  # a dead letter at the text cap, in Redis, stated in README


@pytest.fixture
def quiet_redis(servers: TestServers) -> Iterator[redis.Redis]:
    """A database of the session's Redis that no worker or ingestor of the e2e tests uses
    (they may still run in this session), emptied: sizes measured here are these tests'."""
    client = redis.Redis.from_url(servers.redis.url_for(7), decode_responses=True)
    client.flushdb()
    yield client
    client.close()


class FixedClock:
    def now(self) -> datetime:
        return NOW


@dataclass(frozen=True)
class History:
    tokens: int
    old_minutes: int  # of raw rows before the raw window
    raw_minutes: int  # of raw rows inside it

    @property
    def old_rows(self) -> int:
        return self.tokens * self.old_minutes * SAMPLES_PER_MINUTE


def token(i: int) -> str:
    return "T" + str(i).rjust(43, "0")


def insert_refreshes(engine: Engine, tokens: int, start: datetime, minutes: int) -> None:
    """Refreshes every 2 s for ``tokens`` tokens from ``start`` (a whole minute), written
    straight with SQL timestamps. Within a minute the prices are a permutation (7k mod 30):
    the minute opens at its low, peaks at +29 and closes at +23 ten-thousandths over the
    token's base."""
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO token_prices (token_address, price_sol, price_usd, source, observed_at)
            SELECT 'T' || lpad(t::text, 43, '0'), p, p * 150, 'synthetic',
                   :start + make_interval(secs => k * :step)
            FROM generate_series(0, :tokens - 1) t, generate_series(0, :samples - 1) k,
                 LATERAL (SELECT 1 + t / 1000.0 + ((k * 7) % 30) / 10000.0 AS p) price
        """), {"start": start, "step": STEP_SECONDS, "tokens": tokens,
               "samples": minutes * SAMPLES_PER_MINUTE})


def insert_history(engine: Engine, h: History) -> None:
    start = raw_cutoff(NOW, WINDOW) - timedelta(minutes=h.old_minutes)
    insert_refreshes(engine, h.tokens, start, h.old_minutes + h.raw_minutes)


def fold_all(engine: Engine) -> int:
    """Run the beat job until it has nothing left to fold (a slow machine may need several
    runs, each bounded by its time budget); returns the raw rows folded."""
    factory = make_session_factory(engine)
    deps = replace(make_deps(Store({}, []), now=FixedClock().now()),
                   uow=lambda: SqlAlchemyUnitOfWork(factory),
                   policy=Policy(price_history_raw=WINDOW))
    folded = 0
    while (rows := downsample_prices(deps)) > 0:
        folded += rows
    return folded


def scalar(engine: Engine, sql: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def assert_folded(engine: Engine, h: History) -> None:
    """Every old minute of every token is one exact bar; the raw window is untouched."""
    assert scalar(engine, "SELECT count(*) FROM token_price_bars") == h.tokens * h.old_minutes
    assert scalar(engine, "SELECT count(*) FROM token_prices") == (
        h.tokens * h.raw_minutes * SAMPLES_PER_MINUTE)
    assert scalar(engine, "SELECT min(observed_at) FROM token_prices") == raw_cutoff(NOW, WINDOW)
    assert scalar(engine, "SELECT sum(samples) FROM token_price_bars") == h.old_rows
    assert scalar(engine, f"SELECT count(*) FROM token_price_bars WHERE samples <> "
                          f"{SAMPLES_PER_MINUTE}") == 0
    with engine.connect() as conn:
        bar = conn.execute(text(
            "SELECT * FROM token_price_bars WHERE token_address = :t ORDER BY minute LIMIT 1"),
            {"t": token(h.tokens - 1)}).one()
    base = 1 + Decimal(h.tokens - 1) / 1000
    assert bar.minute == raw_cutoff(NOW, WINDOW) - timedelta(minutes=h.old_minutes)
    assert (bar.open_sol, bar.high_sol, bar.low_sol, bar.close_sol) == (
        base, base + Decimal("0.0029"), base, base + Decimal("0.0023"))
    assert bar.close_usd == (base + Decimal("0.0023")) * 150


def bar_bytes(engine: Engine) -> float:
    """Bytes per bar row on disk, its primary key index included."""
    return float(scalar(engine, "SELECT pg_total_relation_size('token_price_bars')::float "
                                "/ greatest(1, (SELECT count(*) FROM token_price_bars))"))


def test_price_history_older_than_the_window_folds_into_one_bar_per_minute(
        clean_db: Engine) -> None:
    h = History(tokens=500, old_minutes=12, raw_minutes=2)
    insert_history(clean_db, h)
    raw_bytes = scalar(clean_db, "SELECT pg_total_relation_size('token_prices')::float "
                                 "/ (SELECT count(*) FROM token_prices)")
    assert fold_all(clean_db) == h.old_rows
    assert_folded(clean_db, h)
    assert fold_all(clean_db) == 0  # a second run changes nothing
    assert_folded(clean_db, h)
    # Per held token per day after the window: 1,440 bars instead of 43,200 raw rows.
    print(f"\nprice history: {raw_bytes:.0f} bytes per raw row, {bar_bytes(clean_db):.0f} "
          f"per bar: a day of one token {43_200 * raw_bytes / 2**20:.1f} MiB raw, "
          f"{1_440 * bar_bytes(clean_db) / 2**10:.0f} KiB in bars")
    assert bar_bytes(clean_db) <= BAR_BYTES_MAX


def test_two_downsampling_runs_at_once_fold_each_row_once(clean_db: Engine) -> None:
    h = History(tokens=50, old_minutes=40, raw_minutes=1)
    insert_history(clean_db, h)
    folded: list[int] = []
    runs = [threading.Thread(target=lambda: folded.append(fold_all(clean_db)))
            for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert sum(folded) == h.old_rows
    assert_folded(clean_db, h)


def test_a_late_raw_row_merges_into_its_bar(clean_db: Engine) -> None:
    h = History(tokens=1, old_minutes=2, raw_minutes=0)
    insert_history(clean_db, h)
    fold_all(clean_db)
    late = raw_cutoff(NOW, WINDOW) - timedelta(minutes=2, seconds=-59)
    with clean_db.begin() as conn:
        conn.execute(text("INSERT INTO token_prices (token_address, price_sol, source, "
                          "observed_at) VALUES (:t, 5, 'late', :at)"),
                     {"t": token(0), "at": late})
    assert fold_all(clean_db) == 1
    with clean_db.connect() as conn:
        bar = conn.execute(text("SELECT * FROM token_price_bars ORDER BY minute LIMIT 1")).one()
    assert (bar.high_sol, bar.close_sol, bar.close_usd, bar.samples) == (
        5, 5, None, SAMPLES_PER_MINUTE + 1)
    assert bar.open_sol == bar.low_sol == 1


def test_the_signals_stream_keeps_only_what_is_not_yet_ingested(
        clean_db: Engine, quiet_redis: redis.Redis) -> None:
    factory = make_session_factory(clean_db)
    ingestor = StreamIngestor(quiet_redis, db_deps(lambda: SqlAlchemyUnitOfWork(factory)),
                              "bounded", block_ms=10)
    ingestor.ensure_group()
    huge = json.dumps({"token_address": "x" * 1_000_000, "signal_type": "buy",
                       "signal_strength": 50})
    pipe = quiet_redis.pipeline(transaction=False)
    pipe.xadd(SIGNALS_STREAM, {"payload": huge})
    for i in range(2_000):
        pipe.xadd(SIGNALS_STREAM, {"payload": json.dumps({
            "token_address": mint(i % 20), "signal_type": "buy", "signal_strength": 50,
            "idempotency_key": f"bounded-{i}"})})
    pipe.xadd(SIGNALS_STREAM, {"payload": huge})
    pipe.execute()
    before = int(quiet_redis.memory_usage(SIGNALS_STREAM, samples=0) or 0)
    assert before > 2_000_000
    while ingestor.poll():
        pass
    after = int(quiet_redis.memory_usage(SIGNALS_STREAM, samples=0) or 0)
    print(f"\nsignals stream: {before:,} bytes with 2,002 messages, {after:,} once ingested")
    assert quiet_redis.xlen(SIGNALS_STREAM) == 0
    assert after < 4_096
    assert scalar(clean_db, "SELECT count(*) FROM trading_signals") == 2_000
    dead = quiet_redis.xrange(DEAD_SIGNALS_STREAM)
    assert [len(fields["payload"]) for _, fields in dead] == [DEAD_LETTER_TEXT_MAX] * 2


def test_dead_letter_streams_keep_the_newest_entries_up_to_their_cap(
        quiet_redis: redis.Redis) -> None:
    pipe = quiet_redis.pipeline(transaction=False)
    for i in range(DEAD_LETTER_MAXLEN + 300):
        dead_letter(pipe, "x" * 5_000, "payload", "not valid JSON", source="stream",  # type: ignore[arg-type]
                    message_id=f"{i}-0")
        dead_task(pipe, "signals.execute", f"task-{i}", ["y" * 5_000], "delivered 6 times")  # type: ignore[arg-type]
        if i % 500 == 0:
            pipe.execute()
    pipe.execute()
    for stream in (DEAD_SIGNALS_STREAM, DEAD_TASKS_STREAM):
        assert quiet_redis.xlen(stream) == DEAD_LETTER_MAXLEN
        size = int(quiet_redis.memory_usage(stream, samples=0) or 0)
        print(f"\n{stream}: {DEAD_LETTER_MAXLEN:,} entries at the text cap, {size:,} bytes")
        assert size <= DEAD_LETTER_MAXLEN * DEAD_ENTRY_BYTES_MAX
    [(_, oldest)] = quiet_redis.xrange(DEAD_SIGNALS_STREAM, count=1)
    assert oldest["message_id"] == "300-0"  # the oldest 300 were trimmed
    assert len(oldest["payload"]) == DEAD_LETTER_TEXT_MAX


def test_price_refreshes_overwrite_the_price_cache(quiet_redis: redis.Redis) -> None:
    cache, tokens = Cache(quiet_redis), [token(i) for i in range(500)]

    def refresh(second: int) -> None:
        at = NOW + timedelta(seconds=second)
        cache.write_prices(PriceQuote(t, Decimal("0.001") + Decimal(second) / 10**9, at,
                                      "static", Decimal("0.15")) for t in tokens)

    refresh(0)
    keys, first = quiet_redis.dbsize(), int(quiet_redis.memory_usage(PRICES_KEY) or 0)
    for second in range(2, 200, 2):
        refresh(second)
    print(f"\nprice cache: {first:,} bytes for 500 tokens after 1 refresh, "
          f"{quiet_redis.memory_usage(PRICES_KEY):,} after 100")
    assert quiet_redis.dbsize() == keys
    assert int(quiet_redis.memory_usage(PRICES_KEY) or 0) <= first * 1.05
