"""The ``fleet`` command line (typer + rich). Every listing takes ``--json``."""

from __future__ import annotations

import typer

from workers.cli import agents, db, processes, services

app = typer.Typer(help="signalfleet: trade on signals for a fleet of Solana agents.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)
app.add_typer(db.app, name="db")
app.add_typer(services.app, name="services")
app.add_typer(agents.agents_app, name="agents")
app.add_typer(agents.signals_app, name="signals")
app.add_typer(agents.prices_app, name="prices")
app.add_typer(agents.positions_app, name="positions")
app.command()(agents.executions)
app.command()(agents.balances)
for command in (processes.run, processes.worker, processes.beat, processes.ingest):
    app.command()(command)


def main() -> None:
    app()
