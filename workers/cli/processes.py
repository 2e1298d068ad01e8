"""``fleet worker``, ``beat``, ``ingest`` and ``run`` (all of them as one supervised group)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sys
import threading
import uuid
from pathlib import Path

import typer
from rich.live import Live

from persistence import schema
from persistence.redis_outage import process_episode
from workers.bootstrap import Container, export_urls
from workers.broker import wait_for_bindings
from workers.cli.common import console, container
from workers.cli.live_view import render
from workers.cli.supervisor import Group
from workers.demo import demo_env, play_signals, seed
from workers.settings import Settings

QUEUES = "signals,sweeps,maintenance"


def worker(concurrency: int | None = typer.Option(None, "--concurrency", "-c"),
           queues: str = typer.Option(QUEUES, "--queues", "-Q"),
           name: str = typer.Option("worker@%h", "--name", "-n"),
           live: bool = typer.Option(False, "--live", help="serve the live queue only (the "
                                     "live swaps): needs WALLET_n of every assigned live "
                                     "wallet")) -> None:
    """Run a Celery worker."""
    from workers.celery_app import app
    from workers.live_worker import LIVE_QUEUE, MissingLiveKeys, require_live_keys

    c = container()
    queues = LIVE_QUEUE if live else queues
    if LIVE_QUEUE in queues.split(","):
        try:
            require_live_keys(c)
        except MissingLiveKeys as exc:
            typer.echo(str(exc), err=True)  # one line, never wrapped
            raise typer.Exit(2) from None
    os.environ.update(export_urls(c.urls))
    process_episode("worker")  # names this process in its Redis outage lines
    wait_for_bindings()
    n = concurrency or c.settings.worker_concurrency
    app.worker_main(["worker", "--loglevel", c.settings.log_level, "-Q", queues,
                     "-c", str(n), "-n", name, "-E", "--without-mingle", "--without-gossip"])


def beat() -> None:
    """Run Celery beat (exactly one per deployment; every job is safe to run twice)."""
    from workers.celery_app import app

    c = container()
    os.environ.update(export_urls(c.urls))
    process_episode("beat")
    schedule = c.settings.var_dir.resolve() / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    app.start(["beat", "--loglevel", c.settings.log_level, "-s", str(schedule)])


def ingest(consumer: str = typer.Option("", "--consumer",
                                        help="consumer name (default: host-pid)")) -> None:
    """Run the Redis Stream ingestor."""
    import workers.celery_app  # noqa: F401 -- registers how fan-outs are enqueued
    from workers.ingest.stream import StreamIngestor

    rt = container()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    name = consumer or f"{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    StreamIngestor(rt.redis, rt.deps, consumer=name).run(stop)


def run(demo: bool = typer.Option(True, "--demo/--no-demo",
                                  help="on an empty database, seed the demo and replay its "
                                       "sample market"),
        view: bool = typer.Option(True, "--view/--no-view", help="the live terminal view")) -> None:
    """Start the services, migrate, then run worker, beat, ingestor and Flower until Ctrl-C."""
    c = container(require_head=False)
    schema.upgrade(c.urls.database_url)
    c.require_schema_at_head()
    c.redis.ping()
    env = {**os.environ, **export_urls(c.urls), **(demo_env() if demo else {})}
    user, password = _flower_credentials(c.settings)
    env.update({"SIGNALFLEET_FLOWER_USER": user, "SIGNALFLEET_FLOWER_PASSWORD": password})
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", _fresh_metrics_dir(c.settings))
    seeded = demo and _seed(env)
    where = "embedded" if c.urls.embedded else "configured"
    header = (f"database at {schema.current_revision(c.engine)} · redis answering ({where}) · "
              f"Flower http://127.0.0.1:{c.settings.flower_port}/ user {user} password "
              f"{password} · dashboard http://127.0.0.1:8000/dashboard · "
              "Ctrl-C stops everything")
    console.print(f"signalfleet: {header}")
    names = ("worker", "beat", "ingest", "flower", "metrics", "http-ingest")  # metrics: :9108
    commands = {n: [sys.executable, "-m", "workers.cli", n] for n in names}
    if len(c.wallets):  # keys loaded here: a live worker serves the live swaps
        commands["worker-live"] = [*commands["worker"], "--live", "-n", "live@%h"]
    supervise(commands, env,
              seeded, header if view else None, c)


def _fresh_metrics_dir(settings: Settings) -> str:
    """var/metrics, emptied: this run's processes count their metrics there (prometheus_client
    multiprocess mode) and `fleet metrics` serves their sum."""
    path = settings.var_dir.resolve() / "metrics"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return str(path)


def _seed(env: dict[str, str]) -> bool:
    """Seed the demo with the demo's settings (its replay feed), in this process."""
    from workers.settings import Settings

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        rt = Container(Settings())
        seeded = seed(rt)
        rt.dispose()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if seeded:
        console.print("demo: agent `demo` funded with 20 SOL; replaying the sample market")
    return seeded


def _flower_credentials(settings: Settings) -> tuple[str, str]:
    """The configured Flower credentials, or generated ones kept under var/ (never logged)."""
    if settings.flower_user and settings.flower_password:
        return settings.flower_user, settings.flower_password.get_secret_value()
    path = settings.var_dir / "flower-password"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return "admin", path.read_text().strip()


def supervise(commands: dict[str, list[str]], env: dict[str, str], play: bool = False,
              header: str | None = None, c: Container | None = None) -> None:
    logs = Path(env.get("SIGNALFLEET_VAR_DIR", "var")) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    quiet = header is not None  # the live view owns the terminal; logs go to var/logs
    group = Group(commands, env, logs if quiet else None,
                  lambda line: console.print(f"[yellow]{line}[/yellow]"))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    group.start()
    if play and c is not None:
        speed = float(env.get("SIGNALFLEET_REPLAY_SPEED", "1"))
        threading.Thread(target=play_signals, args=(c.redis, stop, speed), daemon=True).start()
    try:
        _watch(group, stop, header, c)
    finally:
        group.stop()
        console.print("signalfleet stopped")


def _watch(group: Group, stop: threading.Event, header: str | None,
           c: Container | None) -> None:
    """Until Ctrl-C or SIGTERM: children that exit are started again (workers/cli/supervisor)."""
    if header is None or c is None:
        while not stop.wait(0.5):
            group.check()
        return
    with Live(render(c.session_factory, header), console=console, screen=False,
              refresh_per_second=2) as live:
        while not stop.wait(1.0):
            group.check()
            live.update(render(c.session_factory, header))
