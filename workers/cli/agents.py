"""``fleet agents``, ``executions``, ``positions`` and ``balances``: agents and what they hold,
each row naming its agent."""

from __future__ import annotations

import re
import uuid
from collections.abc import Container
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from psycopg import Connection

DEFAULT_OPERATOR = "operator@localhost"  # workers.handlers.operators.agents.DEFAULT_OPERATOR
agents_app = group("Create, list and configure agents.")
AgentOpt = typer.Option(None, "--agent", help="an agent's name or id")
_ID_PREFIX = re.compile(r"[0-9a-fA-F-]{4,36}")


def _decimal(field: str, text: str) -> Decimal:
    from domain.errors import InvalidInput

    try:
        return Decimal(text)
    except ArithmeticError:
        raise InvalidInput(field, "must be a decimal number") from None


def _read_config(path: Path | None) -> dict[str, Any] | None:
    from domain.errors import InvalidInput
    from domain.json_text import loads_exact

    if path is None:
        return None
    try:
        data = loads_exact(path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInput("config", f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput("config", "must be a JSON object")
    jsonable: dict[str, Any] = _jsonable(data)
    return jsonable


def config_file(path: Path | None) -> dict[str, Any] | None:
    """The trading config in ``path`` as it is stored: read, validated (``InvalidConfig``
    lists every error), obsolete keys dropped with a warning naming each on stderr."""
    from domain.config import parse_config

    data = _read_config(path)
    if data is None:
        return None
    parsed = parse_config(data)
    for warning in parsed.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    return parsed.data


def _jsonable(data: Any) -> Any:
    """JSONB cannot hold Decimal: keep exact decimals as strings (the config accepts them)."""
    if isinstance(data, dict):
        return {k: _jsonable(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_jsonable(v) for v in data]
    return str(data) if isinstance(data, Decimal) else data


def resolve_agent(conn: Connection[Any], text: str | None) -> uuid.UUID | None:
    """``--agent``: an id, or the name of exactly one agent."""
    from domain.errors import InvalidInput
    from persistence import queries

    if text is None:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    found = queries.agent_ids_named(conn, text)
    if not found:
        raise InvalidInput("agent", f"no agent named {text!r} (`fleet agents list`)")
    if len(found) > 1:
        raise InvalidInput("agent", f"{len(found)} agents are named {text!r}: give the id")
    return found[0]


def resolve_position(conn: Connection[Any], text: str) -> uuid.UUID:
    """A position's id (as given: the use case says if there is none), or a prefix of it that
    names exactly one open position."""
    from domain.errors import InvalidInput
    from persistence import queries

    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    if _ID_PREFIX.fullmatch(text) is None:
        raise InvalidInput("position_id", "give a position id (or its first characters)")
    found = queries.position_ids_starting(conn, text)
    if len(found) != 1:
        raise InvalidInput("position_id", f"{'no' if not found else 'more than one'} open "
                           f"position id starts with {text!r} (`fleet positions`)")
    return found[0]


@agents_app.command("create")
def create(name: str = typer.Option(..., "--name", help="unique among the user's agents"),
           mode: str = typer.Option("simulation", "--mode", help="simulation or live"),
           deposit: str = typer.Option("0", "--deposit", help="SOL to deposit"),
           config: Path | None = typer.Option(None, "--config", help="trading config JSON"),
           user: str = typer.Option(DEFAULT_OPERATOR, "--user"),
           wallet: str | None = typer.Option(
               None, "--wallet", help="live mode: the address of a loaded wallet (WALLET_n, "
               "see `fleet wallets list`)")) -> None:
    """Create an agent with a simulation wallet (and, live, its wallet); prints its id."""
    from workers.handlers.operators import agents as agent_cases

    with errors():
        amount = _decimal("deposit", deposit)
        new = agent_cases.NewAgent(name=name, mode=mode, deposit_sol=amount,
                                   config=config_file(config), user_email=user,
                                   live_wallet=wallet)
        new.check()  # bad input first, before any service is asked
        loaded = _usable_live_wallet(mode, wallet)
        # one transaction: the agent, its wallets and deposit, or nothing
        agent_id = agent_cases.create_agent(container().uow(), Clock(), new, loaded)
    typer.echo(str(agent_id))


def _usable_live_wallet(mode: str, address: str | None) -> Container[str]:
    """A live agent is created only with a wallet this process can sign with, unused by
    any other agent (checked here for the message, and again in the creating transaction);
    the loaded wallets' addresses (none for a simulation agent)."""
    from domain.errors import InvalidInput

    if mode != "live":
        return frozenset()
    if address is None:
        raise InvalidInput("wallet", "a live agent needs a wallet it can sign with: set "
                           "WALLET_1=<its key> in the environment (or .env), then pass "
                           "--wallet ADDRESS (`fleet wallets list` shows the loaded ones)")
    rt = container()
    if address not in rt.wallets:  # never echo it: a pasted key looks like an address
        raise InvalidInput("wallet", "not the address of a loaded wallet: set WALLET_n to "
                           "its key (`fleet wallets list` shows the loaded ones)")
    with rt.uow() as uow:
        owner = uow.live_wallets.owner_of(address)
    if owner is not None:
        raise InvalidInput("wallet", f"already the live wallet of agent {owner}")
    return rt.wallets


@agents_app.command("list")
def list_agents(as_json: bool = JsonOpt, as_csv: bool = CsvOpt, wide: bool = WideOpt) -> None:
    """Agents with their SOL balance and open positions."""
    from persistence import queries

    with reads() as conn:
        rows = queries.agents(conn)
    emit(rows, title="agents", output=Output(as_json, as_csv, wide), columns=[
        f.Column("name", "agent"), f.id_col("id", "id"), f.Column("trading_mode", "mode"),
        f.sol_col("sol_balance", "SOL"), f.Column("open_positions", "open", numeric=True),
        f.Column("created_at", "created", f.moment, wide=True)])


@agents_app.command("config")
def config_cmd(target: str = typer.Argument(..., metavar="AGENT_ID | set"),
               agent: str | None = typer.Argument(None, metavar="[AGENT_ID FILE]",
                                                  show_default=False),
               file: Path | None = typer.Argument(None, hidden=True),
               set_file: Path | None = typer.Option(None, "--set", help="new config JSON"),
               as_json: bool = JsonOpt) -> None:
    """`config AGENT_ID`: the trading rules in effect (defaults merged) and what differs from
    the defaults. `config set AGENT_ID FILE` (or `config AGENT_ID --set FILE`) validates FILE,
    lists every error (nothing changes then) and replaces the stored config."""
    from domain.errors import InvalidInput
    from workers.cli.operators import show_config
    from workers.handlers.operators import agents as agent_cases

    c = container()
    with errors():
        if target == "set":
            if agent is None or file is None:
                raise InvalidInput("config", "usage: fleet agents config set AGENT_ID FILE")
            agent_id, set_file = _agent_id(agent), file
        elif agent is not None:
            raise InvalidInput("config", "usage: fleet agents config AGENT_ID [--set FILE] "
                                         "or fleet agents config set AGENT_ID FILE")
        else:
            agent_id = _agent_id(target)
        if set_file is not None:
            agent_cases.set_config(c.uow(), agent_id, config_file(set_file))
    show_config(c, agent_id, as_json=as_json)


def _agent_id(text: str) -> uuid.UUID:
    from domain.errors import InvalidInput

    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidInput("agent_id", f"{text!r} is not an agent id (`fleet agents list`)"
                           ) from None


def executions(signal: int | None = typer.Option(None, "--signal"),
               as_json: bool = JsonOpt, as_csv: bool = CsvOpt, wide: bool = WideOpt) -> None:
    """Per-agent executions of signals: what each agent did and why."""
    from persistence import queries

    with reads() as conn:
        rows = queries.executions(conn, signal)
    emit(rows, title="executions", output=Output(as_json, as_csv, wide), columns=[
        f.Column("signal_id", "signal", numeric=True), f.Column("agent", "agent"),
        f.Column("agent_id", "agent id", wide=True), f.Column("status", "status"),
        f.Column("action", "action"), f.Column("reason", "reason"),
        f.Column("transaction_id", "transaction", wide=True),
        f.Column("executed_at", "time (UTC)", f.moment)])


def balances(agent: str | None = AgentOpt, as_json: bool = JsonOpt, as_csv: bool = CsvOpt,
             wide: bool = WideOpt) -> None:
    """Wallet balances per agent and token."""
    from persistence import queries

    with reads() as conn:
        rows = queries.balances(conn, resolve_agent(conn, agent))
    emit(rows, title="balances", output=Output(as_json, as_csv, wide), columns=[
        f.Column("agent", "agent"), f.Column("agent_id", "agent id", wide=True),
        f.Column("wallet_address", "wallet", wide=True), f.Column(f.token, "token"),
        f.Column("token_address", "mint", wide=True), f.sol_col("balance", "balance"),
        f.Column("updated_at", "updated (UTC)", f.moment, wide=True)])


positions_app = group("Open positions (`fleet positions` lists them).", invoke_without_command=True,
                      no_args_is_help=False)


@positions_app.callback()
def positions(ctx: typer.Context, agent: str | None = AgentOpt, as_json: bool = JsonOpt,
              as_csv: bool = CsvOpt, wide: bool = WideOpt) -> None:
    """Open positions, each with its agent; `fleet positions close ID` sells one."""
    from persistence import queries

    if ctx.invoked_subcommand is not None:
        return
    with reads() as conn:
        rows = queries.positions(conn, resolve_agent(conn, agent))
    emit(rows, title="open positions", output=Output(as_json, as_csv, wide), columns=[
        f.Column("id", "id", f.short, whole=True, narrow=True), f.id_col("id", "id", wide=True),
        f.Column("agent", "agent"),
        f.Column("agent_id", "agent id", wide=True), f.Column(f.token, "token"),
        f.Column("token_address", "mint", wide=True),
        f.sol_col("purchase_price", "avg price", wide=True), f.sol_col("holding", "holding"),
        f.sol_col("total_invested_sol", "invested SOL"),
        f.pct_col("current_stop_loss_percentage", "stop %"),
        f.sol_col("peak_price", "peak", wide=True),
        f.Column("dca_count", "DCAs", numeric=True, wide=True),
        f.Column(_tp, "TP hit", wide=True), f.Column(_moon, "moon bag", wide=True),
        f.Column(_left, "tokens left"),
        f.Column("created_at", "opened (UTC)", f.moment, wide=True)])


def _tp(row: dict[str, Any]) -> str:
    total = row.get("total_take_profit_levels")
    return f"{row['take_profit_levels_hit']}/{total}" if total else str(
        row["take_profit_levels_hit"])


def _left(row: dict[str, Any]) -> str:
    """The flag of a position whose tokens left the wallet (the wallet sync): how many."""
    left = row.get("tokens_left")
    return f"FLAGGED {f.amount(left)}" if left else ""


def _moon(row: dict[str, Any]) -> str:
    return f.amount(row.get("moon_bag_amount")) if row.get("moon_bag_activated") else ""
