"""``fleet worker``, ``beat``, ``ingest`` and ``run`` (all of them as one supervised group)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import typer

from persistence import schema
from workers.bootstrap import export_urls
from workers.cli.common import console, container

QUEUES = "signals,sweeps,maintenance"


def worker(concurrency: int | None = typer.Option(None, "--concurrency", "-c"),
           queues: str = typer.Option(QUEUES, "--queues", "-Q"),
           name: str = typer.Option("worker@%h", "--name", "-n")) -> None:
    """Run a Celery worker."""
    from workers.celery_app import app

    c = container()
    os.environ.update(export_urls(c.urls))
    n = concurrency or c.settings.worker_concurrency
    app.worker_main(["worker", "--loglevel", c.settings.log_level, "-Q", queues,
                     "-c", str(n), "-n", name, "-E", "--without-mingle", "--without-gossip"])


def beat() -> None:
    """Run Celery beat (exactly one per deployment; every job is safe to run twice)."""
    from workers.celery_app import app

    c = container()
    os.environ.update(export_urls(c.urls))
    schedule = c.settings.var_dir.resolve() / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    app.start(["beat", "--loglevel", c.settings.log_level, "-s", str(schedule)])


def ingest(consumer: str = typer.Option("", "--consumer",
                                        help="consumer name (default: host-pid)")) -> None:
    """Run the Redis Stream ingestor."""
    from workers.ingest.stream import StreamIngestor
    from workers.runtime import runtime

    container()
    rt = runtime()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    name = consumer or f"{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    StreamIngestor(rt.redis, rt.uow, rt.clock, lambda sid: rt.send("signals.fan_out", sid),
                   consumer=name).run(stop)


def run() -> None:
    """Start the services, migrate, then run worker, beat and ingestor until Ctrl-C."""
    c = container(require_head=False)
    schema.upgrade(c.urls.database_url)
    c.require_schema_at_head()
    c.redis.ping()
    env = {**os.environ, **export_urls(c.urls)}
    where = "embedded" if c.urls.embedded else "configured"
    console.print(f"signalfleet: database at {schema.current_revision(c.engine)}, "
                  f"redis answering ({where} services); starting worker, beat, ingestor")
    supervise({name: [sys.executable, "-m", "workers.cli", name]
               for name in ("worker", "beat", "ingest")}, env)


def supervise(commands: dict[str, list[str]], env: dict[str, str]) -> None:
    procs = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    console.print(f"[red]{name} exited with {proc.returncode}; stopping[/red]")
                    stopping = True
            time.sleep(0.5)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        console.print("signalfleet stopped")
