"""``fleet keys``: API keys of signal providers (HTTP ingest). A key is printed once."""

from __future__ import annotations

import json
import uuid

import typer

from workers.bootstrap import Container
from workers.cli.common import container, emit, err_console, errors
from workers.handlers.operators import keys as key_cases

app = typer.Typer(help="API keys for HTTP ingest (a key is shown once, only its hash is kept).",
                  no_args_is_help=True)


def _runtime() -> Container:
    return container()  # refuses a database not at head


@app.command("create")
def create(user: str = typer.Option(..., "--user", help="the provider's email"),
           scope: list[str] = typer.Option(["signals"], "--scope",
                                           help="repeat for several: signals (push signals "
                                                "for this user), read (the read endpoints), "
                                                "metrics (GET /metrics), "
                                                "admin (every scope; signals for any user)"),
           name: str = typer.Option("default", "--name"),
           as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """Create a key; prints it once on stdout (the details go to stderr)."""
    rt = _runtime()
    with errors():
        new = key_cases.create_key(rt.uow(), rt.clock, user_email=user, scopes=scope, name=name)
    if as_json:
        typer.echo(json.dumps({"id": str(new.id), "key": new.key, "prefix": new.prefix,
                               "user": new.user_email, "scopes": list(new.scopes)}))
        return
    err_console.print(f"API key {new.id} for {new.user_email} (scopes: {', '.join(new.scopes)})."
                      " Store it now: it is shown once and cannot be recovered.")
    typer.echo(new.key)


@app.command("list")
def list_keys(as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts.")
              ) -> None:
    """Keys by prefix, user, scopes, creation, last use and revocation (never the key)."""
    emit(key_cases.list_keys(_runtime().uow()), as_json=as_json, title="API keys")


@app.command("revoke")
def revoke(key_id: uuid.UUID = typer.Argument(..., metavar="ID")) -> None:
    """Revoke a key: it is refused from the next request on."""
    rt = _runtime()
    with errors():
        key_cases.revoke_key(rt.uow(), rt.clock, key_id)
    err_console.print(f"revoked {key_id}")
