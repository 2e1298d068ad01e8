"""``fleet wallets``: the live wallets loaded from ``WALLET_n`` and the agents using them.

Only addresses are ever printed; keys stay in the process's memory.
"""

from __future__ import annotations

import uuid
from typing import Any

import typer

from workers.cli import formatting as f
from workers.cli.common import (
    Clock,
    CsvOpt,
    JsonOpt,
    Output,
    WideOpt,
    console,
    container,
    emit,
    err_console,
    errors,
    group,
)

app = group("Live wallets (keys from WALLET_1, WALLET_2, …).")


def _loaded(rt: Any) -> dict[str, str]:
    return {address: rt.wallets.source(address) for address in rt.wallets.addresses()}


@app.command("list")
def list_wallets(as_json: bool = JsonOpt, as_csv: bool = CsvOpt, wide: bool = WideOpt) -> None:
    """Loaded wallets: address, source variable, and the agent using each."""
    from workers.handlers.operators import wallets as wallet_cases

    rt = container()
    for problem in rt.wallets.problems:
        err_console.print(f"[yellow]warning:[/yellow] {problem}", highlight=False)
    emit(wallet_cases.list_wallets(rt.uow(), _loaded(rt)), title="live wallets",
         output=Output(as_json, as_csv, wide), columns=[
             f.Column("address", "address"), f.Column("source", "from"),
             f.Column("loaded", "loaded"), f.Column("agent_name", "agent"),
             f.Column("agent_id", "agent id", wide=True)])


@app.command("assign")
def assign(agent: uuid.UUID = typer.Option(..., "--agent"),
           address: str = typer.Option(..., "--address"),
           deposit: str = typer.Option("0", "--deposit",
                                       help="SOL the wallet holds, recorded as a deposit")) -> None:
    """Make a loaded wallet the agent's live wallet."""
    from workers.cli.agents import _decimal
    from workers.handlers.operators import wallets as wallet_cases

    with errors():
        amount = _decimal("deposit", deposit)
        rt = container()
        wallet = wallet_cases.assign(rt.uow(), agent, address, rt.wallets, Clock(), amount)
    console.print(f"agent {wallet.agent_id}: live wallet {wallet.wallet_address}",
                  highlight=False)
