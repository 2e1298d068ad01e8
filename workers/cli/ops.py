"""``fleet doctor``, ``fleet flower`` and ``fleet http-ingest``: running and checking the stack."""

from __future__ import annotations

import json
import os

import typer
from rich.table import Table

from workers.bootstrap import export_urls
from workers.cli.common import console, container, err_console
from workers.settings import PASSWORD_FIX, Settings, weak_password

_STYLE = {"OK": "green", "WARN": "yellow", "FAIL": "red"}
NO_AUTH_HINT = (
    "refusing to start Flower without credentials: set SIGNALFLEET_FLOWER_USER and "
    "SIGNALFLEET_FLOWER_PASSWORD (or SIGNALFLEET_FLOWER_ALLOW_NO_AUTH=true on a machine you "
    "trust)")


def doctor(as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """Check database (at head), Redis, broker, workers, beat and price freshness."""
    from workers.doctor import Doctor

    c = container(require_head=False)
    checks = Doctor(c.settings, c.urls).run()
    if as_json:
        typer.echo(json.dumps([vars(check) for check in checks], indent=2))
    else:
        table = Table(title="fleet doctor")
        for column in ("check", "status", "detail", "fix"):
            table.add_column(column)
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
            err_console.print("[red]error:[/red] the Flower user may not contain `:` or `,`, "
                              "nor the password `,`")
            raise typer.Exit(2)
        why = weak_password(password)
        if why:
            err_console.print(f"[red]error:[/red] SIGNALFLEET_FLOWER_PASSWORD {why}: "
                              f"{PASSWORD_FIX}", soft_wrap=True)
            raise typer.Exit(2)
        return [*args, f"--basic-auth={user}:{password}"]
    if not settings.flower_allow_no_auth:
        err_console.print(f"[red]error:[/red] {NO_AUTH_HINT}")
        raise typer.Exit(2)
    err_console.print("[yellow]warning:[/yellow] Flower runs without authentication")
    return args


def flower(address: str = typer.Option("127.0.0.1", "--address",
                                       help="bind address (in a container: 0.0.0.0, with the "
                                            "port published on the host's 127.0.0.1 only)"),
           port: int | None = typer.Option(None, "--port")) -> None:
    """Run Flower (Celery's monitor) with basic auth from the settings."""
    from workers.celery_app import app

    c = container(require_head=False)
    chosen = port or c.settings.flower_port
    args = flower_args(c.settings, address, chosen)
    os.environ.update(export_urls(c.urls))
    who = f" (user {c.settings.flower_user})" if c.settings.flower_user else ""
    console.print(f"Flower: http://{address}:{chosen}/{who}")
    authenticate_monitoring()
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
                port: int = typer.Option(8000, "--port"),
                workers: int = typer.Option(1, "--workers", min=1,
                                            help="uvicorn worker processes")) -> None:
    """Serve HTTP ingest: POST /v1/signals with an X-API-Key (OpenAPI at /docs)."""
    import uvicorn

    c = container()  # refuses a database not at head
    c.redis.ping()
    os.environ.update(export_urls(c.urls))
    console.print(f"HTTP ingest: http://{host}:{port}/v1/signals (docs: http://{host}:{port}/docs)")
    uvicorn.run("workers.http:build", factory=True, host=host, port=port, workers=workers,
                log_config=None, server_header=False, proxy_headers=False,
                timeout_graceful_shutdown=3)  # the dashboard's event streams never end
