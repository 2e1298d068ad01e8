"""The ``fleet`` command line (typer + rich). Every listing takes ``--json``.

Registering the commands imports only typer and the command modules, which load SQLAlchemy,
Redis, Celery and rich inside the commands: ``fleet --help`` starts in a fraction of a second
(``make bench`` measures it).
"""

from __future__ import annotations

import typer

from workers.cli import (
    agents,
    db,
    keys,
    ledger,
    monitoring,
    operators,
    ops,
    processes,
    replay,
    services,
    signals,
    snapshots,
    trading,
    wallets,
)
from workers.cli.common import FleetGroup, state

app = typer.Typer(help="signalfleet: trade on signals for a fleet of Solana agents.",
                  cls=FleetGroup, no_args_is_help=True, rich_markup_mode=None,
                  pretty_exceptions_show_locals=False)


@app.callback()
def _options(debug: bool = typer.Option(
        False, "--debug", help="Show the traceback of a failure (and debug logs).")) -> None:
    state.debug = debug


app.add_typer(db.app, name="db")
app.add_typer(services.app, name="services")
app.add_typer(agents.agents_app, name="agents")
app.add_typer(signals.signals_app, name="signals")
app.add_typer(signals.prices_app, name="prices")
app.add_typer(agents.positions_app, name="positions")
app.add_typer(keys.app, name="keys")
app.add_typer(wallets.app, name="wallets")
app.add_typer(snapshots.app, name="snapshots")
app.add_typer(ledger.trades_app, name="trades")
app.command()(ledger.transactions)
operators.register(agents.agents_app)
app.command()(agents.executions)
app.command()(agents.balances)
app.command()(trading.report)
ledger.trades_app.command("buy")(trading.buy)
agents.positions_app.command("close")(trading.close)
agents.positions_app.command("write-off")(trading.write_off)
signals.prices_app.command("replay")(replay.replay)
for command in (processes.run, processes.worker, processes.beat, processes.ingest):
    app.command()(command)
for command in (ops.doctor, ops.flower, ops.http_ingest, monitoring.metrics):
    app.command()(command)


def main() -> None:
    app()
