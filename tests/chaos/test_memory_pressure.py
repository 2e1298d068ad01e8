"""Scenario 10: Redis refusing writes mid-burst — at ``maxmemory`` (``noeviction``), or turned
into a read-only replica — then taking them again. Meanwhile every process keeps running — two
workers, the stream ingestor, beat and the HTTP ingestor (which answers 503 with
``Retry-After``) — each logging one line for the outage, and ``fleet doctor`` names the full
memory; afterwards everything resumes and nothing is lost or doubled. The short versions hold
the fault a few seconds; the long one (``make chaos``) keeps Redis full for longer than the
visibility timeout, twice, on a bigger burst."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import httpx
import pytest
import redis
from celery import Celery
from sqlalchemy import Engine, select

from domain.ports import UnitOfWork
from persistence import models as m
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.chaos.fleet import Fleet, settle
from tests.chaos.helpers import (
    count,
    every_entry_reaches,
    executions_at_least,
    make_agents,
    mint,
    payload,
    plan,
    push_all,
    set_prices,
)
from tests.chaos.invariants import assert_invariants
from tests.chaos.server import RedisServer, free_port
from tests.e2e.conftest import ROOT, Proc, start, wait_for
from tests.e2e.test_pipeline import Clock
from workers.handlers.operators.keys import create_key

TOKENS = [mint(i) for i in range(5)]


class Http:
    def __init__(self, proc: Proc, base: str, key: str) -> None:
        self.proc, self.base, self.key = proc, base, key

    def post(self, body: dict[str, object]) -> httpx.Response:
        return httpx.post(f"{self.base}/v1/signals", json=body, timeout=10,
                          headers={"X-API-Key": self.key})


@pytest.fixture
def http(chaos: Engine, fleet: Fleet, tmp_path: Path) -> Iterator[Http]:
    """``fleet http-ingest`` as a process of its own on the suite's servers."""
    uow = SqlAlchemyUnitOfWork(make_session_factory(chaos))
    key = create_key(cast("UnitOfWork", uow), Clock(), user_email="provider@example.com",
                     scopes=["signals"]).key
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def up(_: Proc) -> bool:
        try:
            return httpx.get(f"{base}/v1/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    proc = start("http", ["http-ingest", "--port", str(port)], fleet.env, tmp_path, up)
    yield Http(proc, base, key)
    proc.stop()


class Full:
    """Redis over its limit: maxmemory set below what it already uses (``noeviction``)."""

    error = redis.OutOfMemoryError
    reason = "out_of_memory"

    def start(self, server: RedisServer) -> None:
        client = server.client()
        used = int(client.info("memory")["used_memory"])
        client.config_set("maxmemory", str(max(1, used // 2)))

    def end(self, server: RedisServer) -> None:
        server.client().config_set("maxmemory", "0")


class ReadOnly(Full):
    """Redis turned into a replica of a primary that is not there: it keeps its data and
    answers reads, and refuses every write with READONLY (a failover half done)."""

    error = redis.ReadOnlyError
    reason = "read_only"

    def start(self, server: RedisServer) -> None:
        server.client().execute_command("REPLICAOF", "127.0.0.1", str(free_port()))

    def end(self, server: RedisServer) -> None:
        server.client().execute_command("REPLICAOF", "NO", "ONE")


def refuses_writes(server: RedisServer, fault: Full) -> bool:
    try:
        server.client().set(f"probe:{uuid.uuid4()}", "x", px=100)
    except fault.error:
        return True
    return False


def doctor(env: dict[str, str]) -> dict[str, dict[str, str]]:
    out = subprocess.run([sys.executable, "-m", "workers.cli", "doctor", "--json"], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    return {c["name"]: c for c in json.loads(out.stdout)}


def outage_lines(proc: Proc, process: str, since: dict[Proc, int]) -> int:
    """Outage lines ``proc`` logged as ``process`` since the scenario began."""
    return sum("redis.unavailable" in line and f"process={process}" in line
               for line in proc.output()[since.get(proc, 0):].splitlines())


def executed(engine: Engine, key: str) -> bool:
    """The signal pushed with ``key`` is processed: every agent has its execution."""
    with engine.connect() as conn:
        status = conn.execute(select(m.TradingSignal.status).where(
            m.TradingSignal.idempotency_key.endswith(key))).scalar_one_or_none()
    return status == "processed"


def alive(fleet: Fleet, http: Http) -> dict[str, bool]:
    procs: dict[str, Proc | None] = {**fleet.workers, "ingest": fleet.ingestor,
                                     "beat": fleet.beat, "http": http.proc}
    return {name: p is not None and p.popen.poll() is None for name, p in procs.items()}


def ride_out(chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet,
             chaos_redis: RedisServer, http: Http, fault: Full, *, agents: int, signals: int,
             hold: float, episodes: int) -> tuple[float, float]:
    """The scenario; returns the seconds from the last end of the fault to a signal pushed
    then being executed for every agent, and to everything settled."""
    ids = make_agents(chaos, agents)
    set_prices(e2e_redis, TOKENS)
    since = {p: len(p.output()) for p in [*fleet.workers.values(), fleet.ingestor] if p}
    fleet.start_worker("w2")
    fleet.start_beat()
    payloads = plan(signals, TOKENS, sell_every=4)
    per_episode = signals // (episodes + 1)
    recovered = 0.0
    for episode in range(episodes):
        burst = payloads[episode * per_episode:(episode + 1) * per_episode]
        before = count(chaos, m.SignalExecution)
        push_all(e2e_redis, burst)
        wait_for(lambda b=before: executions_at_least(chaos, b + agents), 60, "the burst")
        fault.start(chaos_redis)
        assert refuses_writes(chaos_redis, fault)
        refused = http.post(payload(TOKENS[0], 10_000 + episode, "sell"))
        assert refused.status_code == 503, refused.text
        assert int(refused.headers["Retry-After"]) > 0 and fault.reason in refused.text
        if episode == 0 and fault.reason == "out_of_memory":  # what the operator sees
            memory = doctor(fleet.env)["redis memory"]
            assert memory["status"] == "FAIL" and "refuses writes" in memory["detail"], memory
        time.sleep(hold)
        assert all(alive(fleet, http).values()), alive(fleet, http)
        assert refuses_writes(chaos_redis, fault), "something ended the fault meanwhile"
        fault.end(chaos_redis)
        recovered = time.monotonic()
        probe = payload(TOKENS[episode], 30_000 + episode)  # a provider's next signal
        push_all(e2e_redis, [probe])
        wait_for(lambda k=probe["idempotency_key"]: executed(chaos, k), 120,
                 "a signal pushed after the fault to reach every agent")
        resumed = time.monotonic() - recovered
        wait_for(lambda e=episode: http.post(payload(TOKENS[1], 20_000 + e, "sell"))
                 .status_code == 201, 30, "HTTP ingest to accept signals again")
    push_all(e2e_redis, payloads[episodes * per_episode:])
    settle(chaos, sender, e2e_redis, timeout=300, signals=signals + 2 * episodes)
    took = time.monotonic() - recovered
    assert all(alive(fleet, http).values()), alive(fleet, http)
    for proc, process in [(fleet.workers["w1"], "worker"), (fleet.workers["w2"], "worker"),
                          (fleet.ingestor, "ingest"), (fleet.beat, "beat")]:
        assert proc is not None
        assert outage_lines(proc, process, since) == episodes, (process, proc.output()[-3000:])
    assert outage_lines(http.proc, "http-ingest", since) == episodes, http.proc.output()[-3000:]
    assert count(chaos, m.TradingSignal) == signals + 2 * episodes
    assert_invariants(chaos, every_entry_reaches(chaos, ids))
    return resumed, took


@pytest.mark.parametrize("fault", [Full(), ReadOnly()], ids=["full", "read-only"])
def test_redis_refusing_writes_mid_burst_every_process_rides_it_out(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet,
        chaos_redis: RedisServer, http: Http, fault: Full) -> None:
    resumed, took = ride_out(chaos, e2e_redis, sender, fleet, chaos_redis, http, fault,
                             agents=10, signals=40, hold=4, episodes=1)
    print(f"{fault.reason} (short): a new signal executed {resumed:.1f}s and everything "
          f"settled {took:.1f}s after Redis took writes again")


@pytest.mark.chaos_long
@pytest.mark.timeout(1800)
def test_redis_full_twice_for_longer_than_the_visibility_timeout(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet,
        chaos_redis: RedisServer, http: Http, capsys: pytest.CaptureFixture[str]) -> None:
    hold = float(os.environ.get("SIGNALFLEET_CHAOS_OOM_SECONDS", "40"))
    resumed, took = ride_out(chaos, e2e_redis, sender, fleet, chaos_redis, http, Full(),
                             agents=50, signals=150, hold=hold, episodes=2)
    with capsys.disabled():
        print(f"\nmemory pressure: Redis full {hold:.0f}s twice mid-burst (50 agents, 150 "
              f"signals); every process kept running; a new signal executed {resumed:.1f}s and "
              f"everything settled {took:.1f}s after the last free")
