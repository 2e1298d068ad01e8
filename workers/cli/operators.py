"""``fleet agents deposit/withdraw/rename/archive/pause/resume/mode``: the operator's money
and agent lifecycle.

Each prints one line on success; a refusal is one line naming the field and the fix."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import typer

from workers.cli.common import Clock, container, errors

AgentArg = typer.Argument(..., metavar="AGENT_ID", help="the agent's id (`fleet agents list`)")


def _sol(amount: Decimal) -> str:
    """A SOL amount for people: the ledger's 8 decimals, trailing zeros dropped."""
    from domain.money import sol

    return format(sol(amount).normalize(), "f")


def deposit(agent_id: uuid.UUID = AgentArg,
            amount: str = typer.Argument(..., metavar="SOL", help="e.g. 2.5")) -> None:
    """Deposit SOL into the agent's simulation wallet (a DEPOSIT ledger entry)."""
    from workers.handlers.operators import money

    c = container()
    with errors():
        moved = money.deposit(c.uow(), Clock(), agent_id, amount)
    typer.echo(f"deposited {_sol(moved.amount_sol)} SOL into {moved.wallet_address}; "
               f"balance {_sol(moved.balance_sol)} SOL (transaction {moved.transaction_id})")


def withdraw(agent_id: uuid.UUID = AgentArg,
             amount: str = typer.Argument(..., metavar="SOL", help="e.g. 2.5")) -> None:
    """Withdraw SOL from the agent's simulation wallet (a WITHDRAWAL ledger entry); refused
    above the balance, naming what is available."""
    from workers.handlers.operators import money

    c = container()
    with errors():
        moved = money.withdraw(c.uow(), Clock(), agent_id, amount)
    typer.echo(f"withdrew {_sol(moved.amount_sol)} SOL from {moved.wallet_address}; "
               f"balance {_sol(moved.balance_sol)} SOL (transaction {moved.transaction_id})")


def rename(agent_id: uuid.UUID = AgentArg,
           name: str = typer.Argument(..., metavar="NEW_NAME")) -> None:
    """Give the agent a new name (3 to 50 characters, unique per user)."""
    from workers.handlers.operators import lifecycle

    c = container()
    with errors():
        old = lifecycle.rename(c.uow(), agent_id, name)
    typer.echo(f"renamed {old.name!r} to {name!r}")


def archive(agent_id: uuid.UUID = AgentArg) -> None:
    """Retire the agent: no signal reaches it any more; its history stays. Refused while it
    has open positions."""
    from workers.handlers.operators import lifecycle

    c = container()
    with errors():
        at = lifecycle.archive(c.uow(), Clock(), agent_id)
    typer.echo(f"archived {agent_id} at {at.isoformat()}")


ModeOpt = typer.Option(None, "--mode", help="simulation or live (default: the agent's mode)")


def _paused_line(state: Any) -> str:
    entries = "entries and DCA run" if state.entries else "no new entries or DCA"
    exits = "automated exits run" if state.exits else "automated exits paused"
    return f"agent {state.agent.name} ({state.mode}): {entries}; {exits}"


def pause(agent_id: uuid.UUID = AgentArg, mode: str | None = ModeOpt,
          exits: bool = typer.Option(False, "--exits",
                                     help="also pause stop loss, take profit and stale exits")
          ) -> None:
    """Stop the agent's new entries and DCA in a mode; its automated exits keep running
    unless --exits (docs/rules.md §11)."""
    from workers.handlers.operators import modes

    c = container()
    with errors():
        state = modes.pause(c.uow(), agent_id, mode, exits=exits)
    typer.echo(_paused_line(state))


def resume(agent_id: uuid.UUID = AgentArg, mode: str | None = ModeOpt,
           exits: bool = typer.Option(False, "--exits",
                                      help="resume only the automated exits")) -> None:
    """Resume the agent's entries, DCA and automated exits in a mode (--exits: the exits
    alone)."""
    from workers.handlers.operators import modes

    c = container()
    with errors():
        state = modes.resume(c.uow(), agent_id, mode, exits_only=exits)
    typer.echo(_paused_line(state))


def mode(agent_id: uuid.UUID = AgentArg,
         new_mode: str = typer.Argument(..., metavar="simulation|live"),
         force: bool = typer.Option(False, "--force",
                                    help="switch although positions are open in the old mode")
         ) -> None:
    """Switch the agent's trading mode. Live needs a live wallet assigned (`fleet wallets
    assign`) and its key loaded (WALLET_n); open positions in the old mode refuse the switch
    unless --force."""
    from workers.handlers.operators import modes

    c = container()
    with errors():
        old, now = modes.switch_mode(c.uow(), c.venue, agent_id, new_mode, force=force)
    if old.trading_mode == now:
        typer.echo(f"agent {old.name} already trades in {now}")
    else:
        typer.echo(f"agent {old.name}: {old.trading_mode} → {now}")


def register(agents_app: typer.Typer) -> None:
    for command in (deposit, withdraw, rename, archive, pause, resume, mode):
        agents_app.command()(command)


def show_config(rt: Any, agent_id: uuid.UUID, *, as_json: bool) -> None:
    """The rules in effect (the stored config merged over the defaults) and what differs."""
    import json

    from workers.handlers.operators.rules_view import effective_config

    with errors():
        shown = effective_config(rt.uow(), agent_id)
    diffs = [{"path": d.path, "default": d.default, "effective": d.effective}
             for d in shown.differences]
    if as_json:
        typer.echo(json.dumps({"agent_id": str(agent_id), "stored": shown.stored,
                               "effective": shown.effective, "differences": diffs}, indent=2))
        return
    typer.echo(json.dumps(shown.effective, indent=2))
    if not diffs:
        typer.echo("all rules are the defaults")
        return
    typer.echo(f"{len(diffs)} rule(s) differ from the defaults:")
    for d in diffs:
        typer.echo(f"  {d['path']}: {json.dumps(d['default'])} → {json.dumps(d['effective'])}")
