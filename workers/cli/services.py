"""``fleet services``: the embedded PostgreSQL and Redis (used when no URLs are set)."""

from __future__ import annotations

from workers.cli.common import console, container, group

app = group("The embedded PostgreSQL and Redis (used when no URLs are set).")


@app.command("up")
def up() -> None:
    """Start the embedded servers (or find them running) and print their URLs."""
    from workers.embedded import allow_start
    from workers.settings import get_settings

    allow_start(get_settings().var_dir)
    urls = container(require_head=False).urls
    console.print(f"database: {urls.database_url}\nredis:    {urls.redis_url}",
                  highlight=False, soft_wrap=True)


@app.command("stop")
def stop() -> None:
    """Stop the embedded servers; no `fleet` command starts them again until
    `fleet services up` or `fleet run`."""
    from workers.embedded import stop_embedded
    from workers.settings import get_settings

    stopped = stop_embedded(get_settings().var_dir)
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}; "
                  "`fleet services up` (or `fleet run`) starts them again", highlight=False)
