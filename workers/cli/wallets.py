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
    fail,
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


@app.command("sync")
def sync(as_json: bool = JsonOpt, as_csv: bool = CsvOpt, wide: bool = WideOpt) -> None:
    """Read every live wallet's SOL and token balances from the chain and record each
    difference from the ledger as an adjustment (deposit, withdrawal, unexplained); the
    beat task wallets.sync does the same on a schedule. Exits 1 when a wallet could not be
    read."""
    from workers.handlers.live.sync import UNREAD, sync_wallets

    with errors():
        results = sync_wallets(container().deps)
    rows = [{"address": r.wallet_address, "agent_id": r.agent_id, "status": r.status,
             "reason": r.reason, "slot": r.slot,
             "adjustments": "; ".join(f"{a.kind} {a.amount.normalize():+f} {_mint(a.mint)}"
                                      for a in r.adjustments),
             "flagged_positions": [str(p) for p in r.flagged]} for r in results]
    emit(rows, title="live wallets synced", output=Output(as_json, as_csv, wide), columns=[
        f.Column("address", "address"), f.Column("status", "status"),
        f.Column("reason", "reason"), f.Column("adjustments", "adjustments"),
        f.Column(lambda row: str(len(row["flagged_positions"])), "flagged", numeric=True),
        f.Column("agent_id", "agent id", wide=True), f.Column("slot", "slot", wide=True)])
    unread = [r for r in results if r.status == UNREAD]
    if unread:
        raise fail(f"{len(unread)} wallet(s) not read from the chain ({unread[0].reason}): "
                   "check SIGNALFLEET_RPC_URL and run `fleet wallets sync` again")


def _mint(mint: str) -> str:
    from domain.ledger import SOL_MINT

    return "SOL" if mint == SOL_MINT else mint
