"""The chaos suite's processes (workers by name, the ingestor, beat) and the wait that drives
the outbox sweeper as beat would until everything has settled."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psutil
import redis
from celery import Celery
from sqlalchemy import Engine, select

from persistence import models as m
from tests.e2e.conftest import Proc, answers_ping, start, wait_for
from workers.ingest.stream import HEARTBEAT_KEY

QUEUES = ("signals", "sweeps", "maintenance", "live")


class Fleet:
    """The chaos suite's processes: workers by name, one ingestor, optionally beat."""

    def __init__(self, env: dict[str, str], tmp: Path, sender: Celery) -> None:
        self.env, self.tmp, self.sender = env, tmp, sender
        self.workers: dict[str, Proc] = {}
        self.ingestor: Proc | None = None
        self.beat: Proc | None = None
        self.starts = 0

    def node(self, name: str) -> str:
        return f"chaos-{name}-{os.getpid()}@{os.uname().nodename}"

    def start_worker(self, name: str = "w1", concurrency: int = 2,
                     module: str = "workers.cli", *, live: bool = False, **env: str) -> Proc:
        """A real worker; ``module``/``env`` run a test hook inside it (killer_worker.py);
        ``live``: ``fleet worker --live`` (the live queue only; ``env`` gives it WALLET_n)."""
        self.starts += 1
        node = self.node(name)
        args = ["worker", "-c", str(concurrency), "-n", node, *(["--live"] if live else [])]
        proc = start(f"{name}-{self.starts}", args, {**self.env, **env}, self.tmp,
                     lambda p: self.pings(node), module)
        self.workers[name] = proc
        return proc

    def pings(self, node: str) -> bool:
        try:
            return answers_ping(self.sender, node)
        except (redis.RedisError, OSError):  # a pooled connection from before a restart
            self.sender.close()  # the next use opens a fresh pool
            return False

    def start_ingestor(self) -> Proc:
        client = redis.Redis.from_url(self.env["SIGNALFLEET_REDIS_URL"])
        client.delete(*client.keys(HEARTBEAT_KEY.format("*")) or ["-"])
        self.starts += 1
        self.ingestor = start(f"ingest-{self.starts}", ["ingest"], self.env, self.tmp,
                              lambda p: bool(client.keys(HEARTBEAT_KEY.format("*"))))
        return self.ingestor

    def start_beat(self) -> Proc:
        self.starts += 1
        self.beat = start(f"beat-{self.starts}", ["beat"], self.env, self.tmp,
                          lambda p: "beat: Starting" in p.output())
        return self.beat

    def ensure(self) -> None:
        """The default worker ``w1`` and the ingestor running; nothing else."""
        for name in [n for n in self.workers if n != "w1"]:
            self.workers.pop(name).stop()
        if self.beat is not None:
            self.beat.stop()
            self.beat = None
        w1 = self.workers.get("w1")
        if w1 is None or w1.popen.poll() is not None:
            self.start_worker("w1")
        if self.ingestor is None or self.ingestor.popen.poll() is not None:
            self.start_ingestor()

    def pool_children(self, name: str = "w1") -> list[int]:
        return self.pool_children_of(self.workers[name])

    def kill_worker(self, name: str = "w1") -> None:
        """SIGKILL the main process, then its pool children (a container's death)."""
        proc = self.workers.pop(name)
        children = self.pool_children_of(proc)
        os.kill(proc.popen.pid, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.popen.wait(10)

    @staticmethod
    def pool_children_of(proc: Proc) -> list[int]:
        try:
            return [c.pid for c in psutil.Process(proc.popen.pid).children()]
        except psutil.NoSuchProcess:
            return []

    def stop_all(self) -> None:
        for proc in [*self.workers.values(), self.ingestor, self.beat]:
            if proc is not None:
                proc.stop()
        self.workers, self.ingestor, self.beat = {}, None, None

    @contextlib.contextmanager
    def settings(self, **env: str) -> Iterator[None]:
        """Every process restarted with these settings, and back to the suite's after."""
        saved = self.env
        self.stop_all()
        self.env = {**saved, **env}
        try:
            yield
        finally:
            self.stop_all()
            self.env = saved


def processed(engine: Engine, at_least: int = 0) -> bool:
    with engine.connect() as conn:
        statuses = conn.execute(select(m.TradingSignal.status)).scalars().all()
    return len(statuses) >= at_least and all(s == "processed" for s in statuses)


def queues_idle(client: redis.Redis) -> bool:
    return sum(int(client.llen(q)) for q in QUEUES) + int(client.hlen("unacked")) == 0


def settle(engine: Engine, sender: Celery, client: redis.Redis, timeout: float = 90,
           signals: int = 0) -> None:
    """Run the outbox sweeper as beat would (every second) until at least ``signals`` are
    stored, every signal is processed and no task is queued or unacknowledged."""
    last = [0.0]

    def done() -> bool:
        if processed(engine, signals) and queues_idle(client):
            return True
        if time.monotonic() - last[0] >= 1:
            sender.send_task("signals.requeue_stale", queue="signals")
            last[0] = time.monotonic()
        return False

    try:
        wait_for(done, timeout, "every signal processed and the queues idle")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {state(engine, client)}") from None


def state(engine: Engine, client: redis.Redis) -> str:
    with engine.connect() as conn:
        statuses = Counter(conn.execute(select(m.TradingSignal.status)).scalars())
    queued = {q: int(client.llen(q)) for q in QUEUES}
    return f"signals {dict(statuses)}, queued {queued}, unacked {client.hlen('unacked')}"
