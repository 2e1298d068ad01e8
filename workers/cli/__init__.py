"""The ``fleet`` command line (typer + rich). Every listing takes ``--json``."""

from __future__ import annotations

import typer

from workers.cli import db, services

app = typer.Typer(help="signalfleet: trade on signals for a fleet of Solana agents.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)
app.add_typer(db.app, name="db")
app.add_typer(services.app, name="services")
services.register(app)


def main() -> None:
    app()
