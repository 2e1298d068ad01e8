"""``fleet worker``, ``beat``, ``ingest`` and ``run`` (all of them as one supervised group)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from workers.cli.common import console, container, fail, process_logs
from workers.cli.failures import port_in_use

if TYPE_CHECKING:
    from workers.bootstrap import Container
    from workers.cli.supervisor import Group
    from workers.settings import Settings

QUEUES = "signals,sweeps,maintenance"


def worker(concurrency: int | None = typer.Option(None, "--concurrency", "-c"),
           queues: str = typer.Option(QUEUES, "--queues", "-Q"),
           name: str = typer.Option("worker@%h", "--name", "-n"),
           live: bool = typer.Option(False, "--live", help="serve the live queue only (the "
                                     "live swaps): needs WALLET_n of every assigned live "
                                     "wallet")) -> None:
    """Run a Celery worker."""
    from persistence.redis_outage import process_episode
    from workers.bootstrap import export_urls
    from workers.broker import wait_for_bindings
    from workers.celery_app import app
    from workers.live_worker import LIVE_QUEUE, MissingLiveKeys, require_live_keys

    c = container()
    queues = LIVE_QUEUE if live else queues
    if LIVE_QUEUE in queues.split(","):
        try:
            require_live_keys(c)
        except MissingLiveKeys as exc:
            raise fail(str(exc), 2) from None
    os.environ.update(export_urls(c.urls))
    process_episode("worker")  # names this process in its Redis outage lines
    wait_for_bindings()
    n = concurrency or c.settings.worker_concurrency
    process_logs(c)
    app.worker_main(["worker", "--loglevel", c.settings.log_level, "-Q", queues,
                     "-c", str(n), "-n", name, "-E", "--without-mingle", "--without-gossip"])


def beat() -> None:
    """Run Celery beat (exactly one per deployment; every job is safe to run twice)."""
    from persistence.redis_outage import process_episode
    from workers.bootstrap import export_urls
    from workers.celery_app import app

    c = container()
    os.environ.update(export_urls(c.urls))
    process_episode("beat")
    schedule = c.settings.var_dir.resolve() / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    process_logs(c)
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
    process_logs(rt)
    StreamIngestor(rt.redis, rt.ingest_deps, consumer=name).run(stop)


def run(demo: bool = typer.Option(True, "--demo/--no-demo",
                                  help="on an empty database, seed the demo and replay its "
                                       "sample market"),
        view: bool = typer.Option(True, "--view/--no-view", help="the live terminal view "
                                  "(plain logs when stdout is not a terminal)")) -> None:
    """Start the services, migrate, then run worker, beat, ingestor and Flower until Ctrl-C."""
    from persistence import schema
    from workers.bootstrap import export_urls
    from workers.embedded import allow_start
    from workers.settings import get_settings

    allow_start(get_settings().var_dir)  # `fleet run` starts the embedded servers on purpose
    c = container(require_head=False)
    schema.upgrade(c.urls.database_url)
    c.require_schema_at_head()
    c.redis.ping()
    user, password = _flower_credentials(c.settings)
    base = {**os.environ, **export_urls(c.urls), "SIGNALFLEET_FLOWER_USER": user,
            "SIGNALFLEET_FLOWER_PASSWORD": password}
    base.setdefault("PROMETHEUS_MULTIPROC_DIR", _fresh_metrics_dir(c.settings))
    seeded = demo and _seed(base)
    env = {**base, **(_demo_env() if demo and (seeded or _demo_playing(c)) else {})}
    if demo and not seeded and "SIGNALFLEET_REPLAY_FILE" not in env:
        console.print("demo: already played on this database; prices come from the "
                      f"`{c.settings.price_feed}` feed (`fleet prices set` for `static`)",
                      soft_wrap=True)
    names = ["worker", "beat", "ingest", "flower", "metrics", "http-ingest"]  # metrics: :9108
    flower = _flower_line(c.settings, user, password)
    if flower.startswith("Flower not started"):
        names.remove("flower")
    dashboard = _dashboard_line(c.settings)
    if dashboard.startswith("dashboard not started"):
        names.remove("http-ingest")
    where = "embedded" if c.urls.embedded else "configured"
    stop_line = ("Ctrl-C stops these processes; the embedded PostgreSQL and Redis keep "
                 "running (`fleet services stop`)" if c.urls.embedded else
                 "Ctrl-C stops these processes")
    header = (f"database at {schema.current_revision(c.engine)} · redis answering ({where}) · "
              f"{flower} · {dashboard} · {stop_line}")
    console.print(f"signalfleet: {header}", highlight=False, soft_wrap=True)
    if view and not sys.stdout.isatty():
        view = False  # a pipe or a file gets the plain logs, not a redrawn screen
    commands = {n: [sys.executable, "-m", "workers.cli", n] for n in names}
    if len(c.wallets):  # keys loaded here: a live worker serves the live swaps
        commands["worker-live"] = [*commands["worker"], "--live", "-n", "live@%h"]
    supervise(commands, env, seeded, header if view else None, c)
    if c.urls.embedded:
        console.print("the embedded PostgreSQL and Redis keep running for the next run and "
                      "the `fleet` commands; `fleet services stop` stops them", soft_wrap=True)


def _flower_line(settings: Settings, user: str, password: str) -> str:
    """Flower's URL for the header, or why it is not started (never a dead URL)."""
    port = settings.flower_port
    if port_in_use("127.0.0.1", port):
        return (f"Flower not started: port {port} is in use (set SIGNALFLEET_FLOWER_PORT to a "
                "free one)")
    return f"Flower http://127.0.0.1:{port}/ user {user} password {password}"


def _dashboard_line(settings: Settings) -> str:
    """The HTTP ingest and its dashboard (``SIGNALFLEET_HTTP_PORT``, which the child
    ``fleet http-ingest`` reads too), or why they are not started."""
    port = settings.http_port
    if port_in_use("127.0.0.1", port):
        return (f"dashboard not started: port {port} is in use (set SIGNALFLEET_HTTP_PORT to a "
                "free one)")
    return f"dashboard http://127.0.0.1:{port}/dashboard"


def _demo_env() -> dict[str, str]:
    from workers.demo import demo_env

    return demo_env()


def _demo_playing(c: Container) -> bool:
    """Whether the demo's replayed market (started when it was seeded) is still playing:
    a second run resumes it; after it, prices come from the configured feed."""
    from decimal import Decimal

    from workers.demo import MARKET, REPLAY_START_KEY
    from workers.price_replay import duration_seconds, load_ticks

    started = c.redis.get(REPLAY_START_KEY)
    if started is None:
        return False
    speed = Decimal(os.environ.get("SIGNALFLEET_REPLAY_SPEED", "1"))
    seconds = duration_seconds(load_ticks(MARKET), speed)
    return datetime.now(UTC) < datetime.fromisoformat(str(started)) + timedelta(seconds=seconds)


def _fresh_metrics_dir(settings: Settings) -> str:
    """var/metrics, emptied: this run's processes count their metrics there (prometheus_client
    multiprocess mode) and `fleet metrics` serves their sum."""
    path = settings.var_dir.resolve() / "metrics"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return str(path)


def _seed(env: dict[str, str]) -> bool:
    """Seed the demo with the demo's settings (its replay feed), in this process."""
    from workers.bootstrap import Container
    from workers.demo import seed
    from workers.settings import Settings

    saved = dict(os.environ)
    os.environ.update({**env, **_demo_env()})
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
    from workers.cli.supervisor import Group

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
        from workers.demo import play_signals

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
    from rich.live import Live

    from workers.cli.live_view import render

    with Live(render(c, header), console=console.get(), screen=False,
              refresh_per_second=2) as live:
        while not stop.wait(1.0):
            group.check()
            live.update(render(c, header))
