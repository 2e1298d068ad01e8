"""``fleet keys``: API keys of signal providers (HTTP ingest). A key is printed once."""

from __future__ import annotations

import json
import uuid

import typer

from workers.cli import formatting as f
from workers.cli.common import (
    Clock,
    CsvOpt,
    JsonOpt,
    Output,
    WideOpt,
    container,
    emit,
    err_console,
    errors,
    group,
    reads,
)

app = group("API keys for HTTP ingest (a key is shown once, only its hash is kept).")


@app.command("create")
def create(user: str = typer.Option(..., "--user", help="the provider's email"),
           scope: list[str] = typer.Option(["signals"], "--scope",
                                           help="repeat for several: signals (push signals "
                                                "for this user), read (the read endpoints), "
                                                "metrics (GET /metrics), "
                                                "admin (every scope; signals for any user)"),
           name: str = typer.Option("default", "--name"),
           as_json: bool = JsonOpt) -> None:
    """Create a key; prints it once on stdout (the details go to stderr)."""
    from workers.handlers.operators import keys as key_cases

    c = container()
    with errors():
        new = key_cases.create_key(c.uow(), Clock(), user_email=user, scopes=scope, name=name)
    if as_json:
        typer.echo(json.dumps({"id": str(new.id), "key": new.key, "prefix": new.prefix,
                               "user": new.user_email, "scopes": list(new.scopes)}))
        return
    err_console.print(f"API key {new.id} for {new.user_email} (scopes: {', '.join(new.scopes)})."
                      " Store it now: it is shown once and cannot be recovered.",
                      highlight=False)
    typer.echo(new.key)


@app.command("list")
def list_keys(as_json: bool = JsonOpt, as_csv: bool = CsvOpt, wide: bool = WideOpt) -> None:
    """Keys by prefix, user, scopes, creation, last use and revocation (never the key)."""
    from persistence import queries

    with reads() as conn:
        rows = queries.api_keys(conn)
    emit(rows, title="API keys",
         output=Output(as_json, as_csv, wide), columns=[
             f.Column("id", "id", wide=True), f.Column("prefix", "prefix"),
             f.Column("user", "user"), f.Column("name", "name"),
             f.Column("scopes", "scopes"),
             f.Column("created_at", "created (UTC)", f.moment, wide=True),
             f.Column("last_used_at", "last used (UTC)", f.moment),
             f.Column("revoked_at", "revoked (UTC)", f.moment)])


@app.command("revoke")
def revoke(key_id: uuid.UUID = typer.Argument(..., metavar="ID")) -> None:
    """Revoke a key: it is refused from the next request on."""
    from workers.handlers.operators import keys as key_cases

    c = container()
    with errors():
        key_cases.revoke_key(c.uow(), Clock(), key_id)
    err_console.print(f"revoked {key_id}", highlight=False)
