"""``fleet doctor``, ``fleet flower`` and ``fleet http-ingest``: running and checking the stack."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import typer

from workers.cli.common import JsonOpt, console, container, err_console, fail, process_logs
from workers.cli.failures import UNAVAILABLE, port_in_use

if TYPE_CHECKING:
    from workers.settings import Settings

_STYLE = {"OK": "green", "WARN": "yellow", "FAIL": "red"}
NO_AUTH_HINT = (
    "refusing to start Flower without credentials: set SIGNALFLEET_FLOWER_USER and "
    "SIGNALFLEET_FLOWER_PASSWORD (or SIGNALFLEET_FLOWER_ALLOW_NO_AUTH=true on a machine you "
    "trust)")


def doctor(as_json: bool = JsonOpt) -> None:
    """Check database (at head), Redis, broker, workers, beat and price freshness."""
    from rich import box
    from rich.table import Table

    from workers.doctor import Doctor

    c = container(require_head=False)
    checks = Doctor(c.settings, c.urls).run()
    if as_json:
        typer.echo(json.dumps([vars(check) for check in checks], indent=2))
    else:
        table = Table(title="fleet doctor", title_justify="left", box=box.SIMPLE_HEAD)
        for column in ("check", "status", "detail", "fix"):
            table.add_column(column, overflow="fold")
        for check in checks:
            style = _STYLE[check.status]
            table.add_row(check.name, f"[{style}]{check.status}[/{style}]", check.detail,
                          check.fix)
        console.print(table)
    if any(check.failed for check in checks):
        raise typer.Exit(1)


def flower_args(settings: Settings, address: str, port: int) -> list[str]:
    """Flower's arguments; refuses (exit 2) to run without basic auth unless allowed."""
    args = ["flower", f"--address={address}", f"--port={port}"]
    user = settings.flower_user
    password = settings.flower_password.get_secret_value() if settings.flower_password else ""
    if user and password:
        if ":" in user or "," in user or "," in password:
            raise fail("the Flower user may not contain `:` or `,`, nor the password `,`", 2)
        from workers.passwords import PASSWORD_FIX, weak_password

        why = weak_password(password)
        if why:
            raise fail(f"SIGNALFLEET_FLOWER_PASSWORD {why}: {PASSWORD_FIX}", 2)
        return [*args, f"--basic-auth={user}:{password}"]
    if not settings.flower_allow_no_auth:
        raise fail(NO_AUTH_HINT, 2)
    err_console.print("[yellow]warning:[/yellow] Flower runs without authentication")
    return args


def require_free_port(address: str, port: int, fix: str) -> None:
    """One line and exit 4 when something already listens on ``address:port``."""
    if port_in_use(address, port):
        raise fail(f"port {port} on {address} is already in use: {fix}", UNAVAILABLE)


def flower(address: str = typer.Option("127.0.0.1", "--address",
                                       help="bind address (in a container: 0.0.0.0, with the "
                                            "port published on the host's 127.0.0.1 only)"),
           port: int | None = typer.Option(None, "--port")) -> None:
    """Run Flower (Celery's monitor) with basic auth from the settings."""
    from workers.bootstrap import export_urls

    c = container(require_head=False)
    chosen = c.settings.flower_port if port is None else port
    args = flower_args(c.settings, address, chosen)
    require_free_port(address, chosen, "stop the other Flower, or choose a free port with "
                      "--port or SIGNALFLEET_FLOWER_PORT")
    os.environ.update(export_urls(c.urls))
    from workers.celery_app import app

    who = f" (user {c.settings.flower_user})" if c.settings.flower_user else ""
    console.print(f"Flower: http://{address}:{chosen}/{who}", highlight=False)
    authenticate_monitoring()
    process_logs(c)
    app.start(args)


def authenticate_monitoring() -> None:
    """Put Flower's ``/metrics`` and ``/healthcheck`` behind the same basic auth as every
    other page (Flower 2 serves them to anyone: the Prometheus metrics name every task, queue
    and worker). A scraper passes the same credentials."""
    from flower.views import monitor
    from tornado import web

    for handler in (monitor.Metrics, monitor.Healthcheck):
        if not getattr(handler.get, "authenticated", False):
            guarded = web.authenticated(handler.get)
            guarded.authenticated = True  # type: ignore[attr-defined]
            handler.get = guarded


def http_ingest(host: str = typer.Option("127.0.0.1", "--host"),
                port: int | None = typer.Option(None, "--port", help="default: "
                                                "SIGNALFLEET_HTTP_PORT, 8000"),
                workers: int = typer.Option(1, "--workers", min=1,
                                            help="uvicorn worker processes")) -> None:
    """Serve HTTP ingest: POST /v1/signals with an X-API-Key (OpenAPI at /docs)."""
    import uvicorn

    from workers.bootstrap import export_urls
    from workers.settings import get_settings

    port = get_settings().http_port if port is None else port
    require_free_port(host, port, "stop what listens there, or choose another with --port "
                      "or SIGNALFLEET_HTTP_PORT")
    c = container()  # refuses a database not at head
    c.redis.ping()
    os.environ.update(export_urls(c.urls))
    console.print(f"HTTP ingest: http://{host}:{port}/v1/signals (docs: http://{host}:{port}/docs)",
                  highlight=False)
    process_logs(c)
    uvicorn.run("workers.http:build", factory=True, host=host, port=port, workers=workers,
                log_config=None, server_header=False, proxy_headers=False,
                timeout_graceful_shutdown=3)  # the dashboard's event streams never end
