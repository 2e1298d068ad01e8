"""The combined chaos run behind ``make chaos``: 2,000 signals over 50 agents while workers
are SIGKILLed (main processes and pool children) and SIGTERMed, the suite's Redis restarts,
every PostgreSQL session is terminated and the suite's PostgreSQL server crashes and restarts
— with beat running the outbox sweeper. Ends with every invariant and one summary line."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable

import pytest
import redis
from celery import Celery
from sqlalchemy import Engine

from persistence import models as m
from tests.chaos.fleet import Fleet, settle
from tests.chaos.helpers import (
    count,
    every_entry_reaches,
    executions_at_least,
    make_agents,
    mint,
    plan,
    push_all,
    set_prices,
)
from tests.chaos.invariants import assert_invariants
from tests.chaos.server import PostgresServer, RedisServer
from tests.chaos.test_postgres_faults import terminate_sessions
from tests.e2e.conftest import wait_for

SIGNALS = int(os.environ.get("SIGNALFLEET_CHAOS_SIGNALS", "2000"))
AGENTS = int(os.environ.get("SIGNALFLEET_CHAOS_AGENTS", "50"))
TOKENS = [mint(i) for i in range(20)]
# Chunks of 50 agents on a loaded 2-CPU machine outlast the short suite's 5 s soft limit.
LIMITS = {"SIGNALFLEET_VISIBILITY_TIMEOUT_SECONDS": "30",
          "SIGNALFLEET_TASK_SOFT_TIME_LIMIT_SECONDS": "20",
          "SIGNALFLEET_TASK_TIME_LIMIT_SECONDS": "25",
          "SIGNALFLEET_DB_POOL_SIZE": "5"}


def trickle(engine: Engine, client: redis.Redis, payloads: list[dict[str, object]],
            start: int, step: int = 10) -> None:
    """Push ``payloads[start:]`` as a provider would, a few at a time, each group once the
    previous one is stored (a 200-signal XADD burst is one ingest batch and one task)."""
    for i in range(start, len(payloads), step):
        push_all(client, payloads[i:i + step])
        n = min(i + step, len(payloads))
        wait_for(lambda n=n: count(engine, m.TradingSignal) >= n, 120, "the ingestor")


@pytest.mark.chaos_long
@pytest.mark.timeout(3600)
def test_combined_faults_lose_and_double_nothing(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet,
        chaos_redis: RedisServer, chaos_postgres: PostgresServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    with fleet.settings(**LIMITS):
        run(chaos, e2e_redis, sender, fleet, chaos_redis, chaos_postgres, capsys)


def run(chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet,
        chaos_redis: RedisServer, chaos_postgres: PostgresServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    agents = make_agents(chaos, AGENTS)
    set_prices(e2e_redis, TOKENS)
    fleet.start_worker("w1")
    fleet.start_worker("w2")
    fleet.start_ingestor()
    fleet.start_beat()
    faults: Counter[str] = Counter()

    def kill_main(name: str) -> Callable[[], None]:
        def inject() -> None:
            fleet.kill_worker(name)
            faults["worker SIGKILL"] += 1
            fleet.start_worker(name)
        return inject

    def kill_child(name: str) -> Callable[[], None]:
        def inject() -> None:
            children = fleet.pool_children(name)
            os.kill(children[0], signal.SIGKILL)
            faults["pool child SIGKILL"] += 1
        return inject

    def sigterm(name: str) -> Callable[[], None]:
        def inject() -> None:
            fleet.workers.pop(name).stop(signal.SIGTERM)
            faults["worker SIGTERM"] += 1
            fleet.start_worker(name)
        return inject

    def restart_redis() -> None:
        chaos_redis.restart()
        faults["redis restart"] += 1

    def terminate_postgres_sessions() -> None:
        assert terminate_sessions(chaos) > 0
        faults["postgres sessions terminated"] += 1

    def crash_postgres() -> None:
        chaos_postgres.restart("immediate")  # a crash: WAL recovery on start
        faults["postgres restart"] += 1

    schedule = [kill_main("w1"), kill_child("w2"), restart_redis, kill_main("w2"),
                terminate_postgres_sessions, kill_child("w1"), crash_postgres, kill_main("w1"),
                sigterm("w2"), kill_main("w2"), kill_child("w1")]
    payloads = plan(SIGNALS, TOKENS, sell_every=7)  # 7 is coprime with 20: exits hit holders
    wave = SIGNALS // len(schedule)
    for i, inject in enumerate(schedule):
        last = i == len(schedule) - 1
        trickle(chaos, e2e_redis, payloads[:None if last else (i + 1) * wave], start=i * wave)
        target = count(chaos, m.SignalExecution) + wave * AGENTS // 4
        wait_for(lambda t=target: executions_at_least(chaos, t), 600, "the wave under way")
        inject()
    settle(chaos, sender, e2e_redis, timeout=1200, signals=SIGNALS)
    for name, proc in [*fleet.workers.items(), ("ingest", fleet.ingestor), ("beat", fleet.beat)]:
        assert proc is not None and proc.popen.poll() is None, f"{name} died"
    tally = assert_invariants(chaos, every_entry_reaches(chaos, agents))
    assert tally.signals == SIGNALS
    kills = faults["worker SIGKILL"] + faults["pool child SIGKILL"]
    assert kills >= 5 and faults["redis restart"] and faults["postgres restart"]
    assert faults["postgres sessions terminated"]
    kinds = ", ".join(f"{n} {k}" for k, n in faults.items())
    with capsys.disabled():
        print(f"\nchaos: signals {tally.signals}, executions {tally.executions}, "
              f"faults injected {sum(faults.values())} ({kinds}), lost {tally.lost}, "
              f"doubled {tally.doubled}, in {time.monotonic() - started:.0f}s")
