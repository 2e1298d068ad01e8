"""``fleet agents``, ``signals``, ``executions``, ``positions``, ``balances``, ``prices``."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer

from domain.config import parse_config
from domain.errors import InvalidInput
from domain.json_text import loads_exact
from domain.signals import parse_signal
from persistence import queries
from workers.bootstrap import Container
from workers.cli.common import console, container, emit, err_console, errors
from workers.cli.operators import show_config
from workers.handlers.operators import agents as agent_cases

agents_app = typer.Typer(help="Create, list and configure agents.", no_args_is_help=True)
signals_app = typer.Typer(help="Push and list signals.", no_args_is_help=True)
prices_app = typer.Typer(help="Static prices (the `static` feed).", no_args_is_help=True)
JsonOpt = typer.Option(False, "--json", help="Print JSON for scripts.")


def _runtime() -> Container:
    return container()  # refuses a database not at head


def _read_config(path: Path | None) -> dict[str, Any] | None:
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
    data = _read_config(path)
    if data is None:
        return None
    parsed = parse_config(data)
    for warning in parsed.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}")
    return parsed.data


def _jsonable(data: Any) -> Any:
    """JSONB cannot hold Decimal: keep exact decimals as strings (the config accepts them)."""
    if isinstance(data, dict):
        return {k: _jsonable(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_jsonable(v) for v in data]
    return str(data) if isinstance(data, Decimal) else data


@agents_app.command("create")
def create(name: str = typer.Option(..., "--name"),
           mode: str = typer.Option("simulation", "--mode"),
           deposit: str = typer.Option("0", "--deposit", help="SOL to deposit"),
           config: Path | None = typer.Option(None, "--config", help="trading config JSON"),
           user: str = typer.Option(agent_cases.DEFAULT_OPERATOR, "--user")) -> None:
    """Create an agent with a simulation wallet; prints its id."""
    rt = _runtime()
    with errors():
        try:
            amount = Decimal(deposit)
        except ArithmeticError:
            raise InvalidInput("deposit", "must be a decimal number") from None
        new = agent_cases.NewAgent(name=name, mode=mode, deposit_sol=amount,
                                   config=config_file(config), user_email=user)
        agent_id = agent_cases.create_agent(rt.uow(), rt.clock, new)
    typer.echo(str(agent_id))


@agents_app.command("list")
def list_agents(as_json: bool = JsonOpt) -> None:
    with _runtime().session_factory() as s:
        emit(queries.agents(s), as_json=as_json, title="agents")


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
    rt = _runtime()
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
            agent_cases.set_config(rt.uow(), agent_id, config_file(set_file))
    show_config(rt, agent_id, as_json=as_json)


def _agent_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidInput("agent_id", f"{text!r} is not an agent id (`fleet agents list`)"
                           ) from None


@signals_app.command("push")
def push(token: str = typer.Option(..., "--token"),
         type_: str = typer.Option(..., "--type",
                                   help="buy (entry) or sell (exit), in any case, unless "
                                        "SIGNALFLEET_ENTRY_SIGNAL_TYPES / _EXIT_SIGNAL_TYPES "
                                        "say otherwise; other types are refused"),
         strength: int = typer.Option(..., "--strength"),
         symbol: str | None = typer.Option(None, "--symbol"),
         source: str | None = typer.Option("cli", "--source"),
         reason: str | None = typer.Option(None, "--reason"),
         key: str | None = typer.Option(None, "--key", help="idempotency key")) -> None:
    """Push a signal onto the stream, as a provider would; prints the stream message id.
    A type outside the deployment's vocabulary is refused here, as the ingestor would."""
    from workers.ingest.stream import SIGNALS_STREAM

    payload = {k: v for k, v in {
        "token_address": token, "signal_type": type_, "signal_strength": strength,
        "symbol": symbol, "source": source, "activation_reason": reason,
        "idempotency_key": key}.items() if v is not None}
    rt = _runtime()
    with errors():  # fail here, clearly, rather than in the dead-letter stream
        rt.settings.vocabulary.check(parse_signal(payload).signal_type)
    message_id = rt.redis.xadd(SIGNALS_STREAM, {"payload": json.dumps(payload)})
    typer.echo(message_id)


@signals_app.command("list")
def list_signals(as_json: bool = JsonOpt, limit: int = 50) -> None:
    with _runtime().session_factory() as s:
        emit(queries.signals(s, limit), as_json=as_json, title="signals")


def executions(signal: int | None = typer.Option(None, "--signal"),
               as_json: bool = JsonOpt) -> None:
    """Per-agent executions of signals."""
    with _runtime().session_factory() as s:
        emit(queries.executions(s, signal), as_json=as_json, title="executions")


def balances(agent: uuid.UUID | None = typer.Option(None, "--agent"),
             as_json: bool = JsonOpt) -> None:
    """Wallet balances per token."""
    with _runtime().session_factory() as s:
        emit(queries.balances(s, agent), as_json=as_json, title="balances")


@prices_app.command("set")
def set_price(token: str = typer.Option(..., "--token"),
              price_sol: str = typer.Option(..., "--price-sol"),
              price_usd: str | None = typer.Option(None, "--price-usd")) -> None:
    """Set a token's price for the `static` feed."""
    from workers.adapters.prices import StaticPriceFeed

    rt = _runtime()
    with errors():
        quote = StaticPriceFeed(rt.redis, rt.clock).set_price(token, price_sol, price_usd)
    console.print(f"{token}: {quote.price_sol} SOL")


positions_app = typer.Typer(help="Open positions (`fleet positions` lists them).",
                            invoke_without_command=True)


@positions_app.callback()
def positions(ctx: typer.Context, agent: uuid.UUID | None = typer.Option(None, "--agent"),
              as_json: bool = JsonOpt) -> None:
    if ctx.invoked_subcommand is not None:
        return
    with _runtime().session_factory() as s:
        emit(queries.positions(s, agent), as_json=as_json, title="open positions")
