"""Scale-out (issue 19 §4): the same fan-outs with one worker process, with two, and with the
workers split by queue as compose runs them (a `signals` worker beside a `sweeps,maintenance`
one) while ratcheting sweeps keep the other queue busy — against one worker serving every
queue under the same sweep load. Each figure is compared with the one-worker run of this
session (the ratio is the scale-out)."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
import redis
from celery import Celery
from sqlalchemy import Engine, delete, update

from persistence import models as m
from tests.bench import test_sweep_bench as sweeps
from tests.bench.conftest import Board, summarize
from tests.bench.test_pipeline_bench import (  # noqa: F401  (extra_env: the fixture)
    count,
    extra_env,
    make_agents,
    new_mint,
    push,
)
from tests.e2e.conftest import Proc, answers_ping, start, wait_for
from workers.adapters.prices import StaticPriceFeed

pytestmark = pytest.mark.bench
AGENTS = 2_000
ONE = "scale-out: fan-out, one worker process (2 pool processes)"
LOADED = "scale-out: fan-out during sweeps, one worker serving every queue"


class Clock:
    def now(self) -> object:
        from datetime import UTC, datetime
        return datetime.now(UTC)


@contextmanager
def extra_worker(env: dict[str, str], tmp: object, sender: Celery,
                 queues: str | None = None) -> Iterator[Proc]:
    name = f"scale-{os.getpid()}-{queues or 'all'}@{os.uname().nodename}"
    args = ["worker", "-c", "2", "-n", name] + ([] if queues is None else ["-Q", queues])
    proc = start(name.split("@")[0], args, env, tmp,  # type: ignore[arg-type]
                 lambda p: answers_ping(sender, name))
    try:
        yield proc
    finally:
        proc.stop()


def fan_outs(engine: Engine, client: redis.Redis, runs: int = 2) -> list[float]:
    """execs/s of `runs` signals, each to every one of the AGENTS agents."""
    feed = StaticPriceFeed(client, Clock())  # type: ignore[arg-type]
    rates = []
    for _ in range(runs):
        mint = new_mint()
        feed.set_price(mint, Decimal("0.001"))
        before = count(engine, m.SignalExecution)
        started = time.perf_counter()
        push(client, mint)
        wait_for(lambda b=before: count(engine, m.SignalExecution) >= b + AGENTS, 600,
                 f"{AGENTS} executions")
        rates.append(AGENTS / (time.perf_counter() - started))
    return rates


@contextmanager
def sweep_load(engine: Engine, client: redis.Redis, sender: Celery) -> Iterator[None]:
    """Ratcheting sweeps of 20,000 positions (agents paused: no signal reaches them) sent
    to the `sweeps` queue for as long as the block runs."""
    import threading
    stop = threading.Event()
    price = [sweeps.AVG]

    def feed() -> None:
        while not stop.is_set():
            price[0] *= Decimal("1.05")  # every stop ratchets: every position is written
            sweeps.tick(client, price[0])
            for i in range(0, len(sweeps.TOKENS), 10):
                sender.send_task("positions.sweep_tokens", args=[sweeps.TOKENS[i:i + 10]],
                                 queue="sweeps")
            stop.wait(2.0)  # beat's period

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def seed_paused(engine: Engine) -> None:
    sweeps.seed(engine, 20_000)
    with engine.begin() as conn:
        conn.execute(update(m.Agent).where(m.Agent.name.like("sweep-%"))
                     .values(automated_trading_simulation=False))


@pytest.mark.timeout(1500)
def test_scale_out(board: Board, pipeline: Engine, e2e_redis: redis.Redis, sender: Celery,
                   stack_env: dict[str, str], worker: Proc,
                   tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp = tmp_path_factory.mktemp("scale")
    make_agents(pipeline, AGENTS)
    fan_outs(pipeline, e2e_redis, 1)  # warm-up: connections, parsed configs
    one = fan_outs(pipeline, e2e_redis)
    with extra_worker(stack_env, tmp, sender):
        two = fan_outs(pipeline, e2e_redis)
    seed_paused(pipeline)
    with sweep_load(pipeline, e2e_redis, sender):
        loaded = fan_outs(pipeline, e2e_redis)
        name = f"e2e-{os.getpid()}@{os.uname().nodename}"
        sender.control.cancel_consumer("signals", destination=[name], reply=True)
        try:
            with extra_worker(stack_env, tmp, sender, "signals"):
                split = fan_outs(pipeline, e2e_redis)
        finally:
            sender.control.add_consumer("signals", destination=[name], reply=True)
    wait_for(lambda: not e2e_redis.llen("sweeps"), 300, "the sweep load to drain")
    with pipeline.begin() as conn:  # the sweep load's positions were seeded without balances
        conn.execute(delete(m.Agent).where(m.Agent.name.like("sweep-%")))
    for label, rates, base in ((ONE, one, ""),
                               ("scale-out: fan-out, two worker processes", two, ONE),
                               (LOADED, loaded, ONE),
                               ("scale-out: fan-out during sweeps, workers split by queue",
                                split, LOADED)):
        board.add(summarize(label, "execs/s", rates, baseline=base,
                            note=f"{AGENTS:,} agents, median of {len(rates)}"))
    assert statistics.median(two) > 0
