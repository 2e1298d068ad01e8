"""``fleet wallets``: the live wallets loaded from ``WALLET_n`` and the agents using them.

Only addresses are ever printed; keys stay in the process's memory.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import typer

from domain.errors import InvalidInput
from workers.bootstrap import Container
from workers.cli.common import console, container, emit, err_console, errors
from workers.handlers.operators import wallets as wallet_cases

app = typer.Typer(help="Live wallets (keys from WALLET_1, WALLET_2, …).", no_args_is_help=True)


def _runtime() -> Container:
    return container()  # refuses a database not at head


def _loaded(rt: Any) -> dict[str, str]:
    return {address: rt.wallets.source(address) for address in rt.wallets.addresses()}


@app.command("list")
def list_wallets(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Loaded wallets: address, source variable, and the agent using each."""
    rt = _runtime()
    for problem in rt.wallets.problems:
        err_console.print(f"[yellow]warning:[/yellow] {problem}")
    emit(wallet_cases.list_wallets(rt.uow(), _loaded(rt)), as_json=as_json,
         title="live wallets")


@app.command("assign")
def assign(agent: uuid.UUID = typer.Option(..., "--agent"),
           address: str = typer.Option(..., "--address"),
           deposit: str = typer.Option("0", "--deposit",
                                       help="SOL the wallet holds, recorded as a deposit")) -> None:
    """Make a loaded wallet the agent's live wallet."""
    rt = _runtime()
    with errors():
        try:
            amount = Decimal(deposit)
        except ArithmeticError:
            raise InvalidInput("deposit", "must be a decimal number") from None
        wallet = wallet_cases.assign(rt.uow(), agent, address, rt.wallets, rt.clock, amount)
    console.print(f"agent {wallet.agent_id}: live wallet {wallet.wallet_address}")
