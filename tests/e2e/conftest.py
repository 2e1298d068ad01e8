"""Real processes: a ``celery worker`` and the stream ingestor, started as subprocesses
against the test database and Redis. Never eager Celery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from sqlalchemy import Engine

from tests.invariants import assert_ledger_invariant, assert_money_conserved
from workers.bootstrap import celery_broker_url
from workers.ingest.stream import HEARTBEAT_KEY

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="session")
def extra_env() -> dict[str, str]:
    """Settings a suite adds for its processes (the bench raises limits, chaos shortens)."""
    return {}


@pytest.fixture(scope="session")
def stack_env(database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory,
              extra_env: dict[str, str]) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("SIGNALFLEET_")},
        "SIGNALFLEET_DATABASE_URL": database_url,
        "SIGNALFLEET_REDIS_URL": redis_url,
        "SIGNALFLEET_PRICE_FEED": "static",
        "SIGNALFLEET_PENDING_GRACE_SECONDS": "3",
        "SIGNALFLEET_REQUEUE_STALE_SECONDS": "1",
        "SIGNALFLEET_VISIBILITY_TIMEOUT_SECONDS": "30",
        "SIGNALFLEET_TASK_SOFT_TIME_LIMIT_SECONDS": "20",
        "SIGNALFLEET_TASK_TIME_LIMIT_SECONDS": "25",
        "SIGNALFLEET_LOG_LEVEL": "INFO",
        # A deployment's own vocabulary (tests/e2e/test_vocabulary.py): a strategy name
        # enters, `close` exits besides `sell`, every other type is refused.
        "SIGNALFLEET_ENTRY_SIGNAL_TYPES": "buy,Velocity (Dex Boost Detection)",
        "SIGNALFLEET_EXIT_SIGNAL_TYPES": "sell,close",
        "SIGNALFLEET_VAR_DIR": str(tmp_path_factory.mktemp("var")),
        # the processes count their metrics here (prometheus_client's multiprocess mode)
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("metrics")),
        **extra_env,
    }


class Proc:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path,
                 module: str = "workers.cli") -> None:
        self.name, self.log = name, log
        self.popen = subprocess.Popen([sys.executable, "-m", module, *args], env=env,
                                      cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                      start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)


def start(name: str, args: list[str], env: dict[str, str], tmp: Path,
          ready: Callable[[Proc], bool], module: str = "workers.cli") -> Proc:
    proc = Proc(name, args, env, tmp / f"{name}.log", module)
    try:
        wait_for(lambda: ready(proc) or proc.popen.poll() is not None, 60, f"{name} to start")
    except AssertionError:
        proc.stop()
        raise
    if proc.popen.poll() is not None:
        raise AssertionError(f"{name} exited:\n{proc.output()[-3000:]}")
    return proc


def answers_ping(app: Celery, name: str) -> bool:
    replies = app.control.ping(timeout=0.5)
    return any(name in reply for reply in replies)


@pytest.fixture(scope="session")
def worker(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory,
           engine: Engine, sender: Celery) -> Iterator[Proc]:
    tmp = tmp_path_factory.mktemp("procs")
    name = f"e2e-{os.getpid()}@{os.uname().nodename}"
    proc = start("worker", ["worker", "-c", "2", "-n", name], stack_env,
                 tmp, lambda p: answers_ping(sender, name))
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def ingestor(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory,
             worker: Proc) -> Iterator[Proc]:
    tmp = tmp_path_factory.mktemp("ingest")
    client = redis.Redis.from_url(stack_env["SIGNALFLEET_REDIS_URL"])
    client.delete(*client.keys(HEARTBEAT_KEY.format("*")) or ["-"])
    proc = start("ingest", ["ingest"], stack_env, tmp,
                 lambda p: bool(client.keys(HEARTBEAT_KEY.format("*"))))
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def sender(redis_url: str) -> Celery:
    """A producer-only Celery app on the test broker, to deliver task messages directly."""
    return Celery("e2e-sender", broker=celery_broker_url(redis_url))


@pytest.fixture
def e2e_redis(redis_url: str) -> Iterator[redis.Redis]:
    """The test Redis, with only signalfleet's own data keys removed (queues stay)."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    for pattern in ("sf:[^i]*", "signalfleet:signals:dead", "signalfleet:prices:*"):
        keys = list(client.scan_iter(pattern))
        if keys:
            client.delete(*keys)
    yield client
    client.close()


@pytest.fixture
def pipeline(clean_db: Engine, e2e_redis: redis.Redis, worker: Proc,
             ingestor: Proc) -> Iterator[Engine]:
    """A clean database and Redis with the real processes running; checks the ledger and
    money conservation after."""
    yield clean_db
    assert_ledger_invariant(clean_db)
    assert_money_conserved(clean_db)
