"""``fleet services`` and ``fleet run``: the embedded servers and the supervised process group."""

from __future__ import annotations

import typer

from workers.cli.common import console, container
from workers.embedded import stop_embedded

app = typer.Typer(help="The embedded PostgreSQL and Redis (used when no URLs are set).",
                  no_args_is_help=True)


@app.command("up")
def up() -> None:
    """Start the embedded servers (or find them running) and print their URLs."""
    urls = container(require_head=False).urls
    console.print(f"database: {urls.database_url}\nredis:    {urls.redis_url}")


@app.command("stop")
def stop() -> None:
    """Stop the embedded servers."""
    stopped = stop_embedded(container(require_head=False).settings.var_dir)
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")

