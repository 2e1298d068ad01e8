"""``fleet report`` (performance), ``fleet trades buy AGENT TOKEN_MINT``, ``fleet positions close
ID`` and ``fleet positions write-off ID`` (docs/rules.md §14, §3, §10, §11)."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from workers.cli import formatting as f
from workers.cli.common import (
    CsvOpt,
    JsonOpt,
    Output,
    WideOpt,
    console,
    container,
    emit,
    err_console,
    errors,
    reads,
)

if TYPE_CHECKING:
    from workers.handlers.operators.manual_buy import Bought
    from workers.handlers.operators.report import AgentReport
    from workers.handlers.shared.deps import Deps
    from workers.plots import Plotted

_SINCE = re.compile(r"(\d+)([hd])")


def parse_since(text: str, now: datetime) -> datetime | None:
    """``all`` → None; ``24h`` / ``7d`` → that long before ``now``."""
    from domain.errors import InvalidInput

    if text == "all":
        return None
    match = _SINCE.fullmatch(text)
    if match is None:
        raise InvalidInput("since", "use all, <n>h or <n>d (e.g. 24h)")
    unit = "hours" if match.group(2) == "h" else "days"
    try:
        return now - timedelta(**{unit: int(match.group(1))})
    except OverflowError:
        raise InvalidInput("since", f"{text} is too far back") from None


def report(agent: str | None = typer.Option(None, "--agent", help="an agent's name or id"),
           since: str = typer.Option("all", "--since", help="all, 24h, 7d, …"),
           plot: Path | None = typer.Option(None, "--plot", help="also draw FILE.png: "
                                            "equity curve and PnL per closed trade"),
           as_json: bool = JsonOpt, as_csv: bool = CsvOpt, wide: bool = WideOpt) -> None:
    """Realized and unrealized PnL, win rate, average return, trades, fees, max drawdown."""
    from workers.cli.agents import resolve_agent
    from workers.handlers.operators.report import report as report_case

    with errors():
        if plot is not None:
            _check_plot_path(plot)  # before any work: a bad path fails fast
        start = parse_since(since, datetime.now(UTC))
        rt = container()
        with reads() as conn:
            agent_id = resolve_agent(conn, agent)
        reports = report_case(agent_id, start, rt.deps)
        if plot is not None:
            draw_plot(plot, agent_id, start, since, rt.deps)
    rows = [report_row(r, as_json=as_json) for r in reports]
    emit(rows, title=f"performance since {since} (PnL and fees in SOL)",
         output=Output(as_json, as_csv, wide), columns=[
             f.Column("name", "agent"), f.Column("agent_id", "agent id", wide=True),
             f.sol_col("realized_pnl_sol", "realized"),
             f.Column("unrealized_pnl_sol", "unrealized", _partial, numeric=True),
             f.pct_col("win_rate_percent", "win %"),
             f.pct_col("average_return_percent", "avg return %", wide=True),
             f.Column("closed_trades", "closed", numeric=True),
             f.Column("open_positions", "open", numeric=True),
             f.sol_col("fees_paid_sol", "fees", wide=True),
             f.pct_col("max_drawdown_percent", "drawdown %")])
    unpriced = [p for r in reports for p in r.positions if p.price_sol is None]
    if unpriced and not (as_json or as_csv):
        err_console.print(f"{len(unpriced)} open position(s) without a price: their "
                          "unrealized PnL is unknown and left out of the totals")
    if plot is not None:
        err_console.print(f"plot written to {plot}", highlight=False)


def report_row(r: AgentReport, *, as_json: bool) -> dict[str, Any]:
    """One agent's figures; an unpriced position makes the unrealized figure partial (the
    table says so), and ``--json`` lists each position with ``null`` where it is unknown."""
    row: dict[str, Any] = {"agent_id": r.agent_id, "name": r.name,
                           **dataclasses.asdict(r.performance)}
    if as_json:
        row["unpriced_positions"] = list(r.unpriced)
        row["positions"] = [dataclasses.asdict(p) for p in r.positions]
    elif r.unpriced:
        priced = len(r.positions) - len(r.unpriced)
        row["unrealized_pnl_sol"] = ("unknown" if not priced else
                                     f"{f.amount(r.performance.unrealized_pnl_sol)} + unknown "
                                     f"({', '.join(r.unpriced)})")
    return row


def _partial(value: Any) -> str:
    return value if isinstance(value, str) else f.amount(value)


def _check_plot_path(path: Path) -> None:
    from workers.plots import check_png_path

    check_png_path(path)


def draw_plot(path: Path, agent: uuid.UUID | None, start: datetime | None, since: str,
              deps: Deps) -> Plotted:
    """Gather the report's series and draw them to ``path`` (matplotlib loads only here)."""
    from workers.handlers.operators.report import report_series
    from workers.plots import Bars, curves_from, draw_report

    series = report_series(agent, start, deps)
    bars = Bars([t.label for t in series.trades], [t.profit_loss_sol for t in series.trades],
                [t.sale_time for t in series.trades])
    return draw_report(path, curves_from(series.equity), bars,
                       title=f"signalfleet performance (since {since})")


def close(position_id: str = typer.Argument(..., metavar="ID",
                                            help="the position's id or its first characters")
          ) -> None:
    """Sell a position's whole holding now (close reason ``manual``); a live position's sale
    is signed and sent by the live worker and closes when the chain confirms it."""
    import workers.celery_app  # noqa: F401 -- registers how live.execute is enqueued
    from workers.cli.agents import resolve_position
    from workers.handlers.positions.manual_close import close_position

    with errors():
        rt = container()
        with reads() as conn:
            found = resolve_position(conn, position_id)
        result = close_position(found, rt.deps)
    if result.submission_id is not None:
        console.print(f"live close submitted as swap {result.submission_id}: the live worker "
                      "signs and sends it; `fleet positions` shows it until confirmed",
                      highlight=False)
        return
    if not result.closed:
        console.print(f"not closed: {result.reason}")
        raise typer.Exit(1)
    console.print(f"closed {found}; sale transaction {result.sale_transaction_id}",
                  highlight=False)


def write_off(position_id: str = typer.Argument(..., metavar="ID",
                                                help="the position's id or its first characters")
              ) -> None:
    """Close a position at zero proceeds (close reason ``burn``), for a token with no price
    or no route: nothing is sent to the chain; PnL = −the remaining cost basis."""
    from workers.cli.agents import resolve_position
    from workers.handlers.positions.write_off import write_off as write_off_case

    with errors():
        rt = container()
        with reads() as conn:
            found = resolve_position(conn, position_id)
        result = write_off_case(found, rt.deps)
    if not result.written_off:
        console.print(f"not written off: {result.reason}")
        raise typer.Exit(1)
    console.print(f"written off {found}; burn transaction {result.burn_transaction_id}, "
                  f"PnL {f.amount(result.profit_loss_sol)} SOL", highlight=False)


def buy(agent: str = typer.Argument(..., metavar="AGENT", help="the agent's name or id"),
        token: str = typer.Argument(..., metavar="TOKEN_MINT", help="the token's mint address"),
        amount: str | None = typer.Option(
            None, "--sol", metavar="AMOUNT",
            help="SOL to spend, fees on top (default: the size the agent's rules give)"),
        reason: str | None = typer.Option(None, "--reason", help="why (kept on the signal)"),
        symbol: str | None = typer.Option(None, "--symbol", help="the token's symbol"),
        as_json: bool = JsonOpt) -> None:
    """Buy a token for one agent now: stored as a signal for that agent alone, with your
    size, and executed as a signal is (a live agent's buy goes to the live worker). Refused,
    changing nothing, when the agent is unknown, paused or archived, the mint or the amount is
    bad, no price is known, or the balance does not cover it."""
    import workers.celery_app  # noqa: F401 -- registers how live.execute is enqueued
    from workers.cli.agents import resolve_agent
    from workers.handlers.operators.manual_buy import BuyOrder, manual_buy

    with errors():
        rt = container()
        with reads() as conn:
            agent_id = resolve_agent(conn, agent)
        assert agent_id is not None
        bought = manual_buy(BuyOrder(agent_id, token.strip(), amount, reason, symbol), rt.deps)
    if as_json:
        import json

        typer.echo(json.dumps(_bought_row(bought)))
    else:
        typer.echo(_bought_line(bought))
    if bought.status not in ("EXECUTED", "PENDING"):
        raise typer.Exit(1)


def _bought_row(b: Bought) -> dict[str, Any]:
    """Every field at full precision (amounts as exact decimal strings)."""
    return {"signal_id": b.signal_id, "agent_id": str(b.agent.id), "agent_name": b.agent.name,
            "token_address": b.token_address, "symbol": b.symbol, "status": b.status,
            "action": b.action, "reason": b.reason,
            "transaction_id": None if b.transaction_id is None else str(b.transaction_id),
            "sol_balance": str(b.sol_balance), "holding": str(b.holding)}


def _bought_line(b: Bought) -> str:
    name, token = b.agent.name, b.symbol or b.token_address
    if b.status == "PENDING":
        return (f"live buy of {token} for {name} submitted (signal {b.signal_id}): the live "
                "worker signs and sends it; `fleet positions` shows it once confirmed")
    if b.status != "EXECUTED":
        return (f"not bought: {b.reason} (signal {b.signal_id}, `fleet executions --signal "
                f"{b.signal_id}`)")
    added = "added to the position" if b.action == "dca" else "opened a position"
    return (f"bought {token} for {name}: {added}, {f.amount(b.holding)} tokens held, "
            f"balance {_exact(b.sol_balance)} SOL (transaction {b.transaction_id}, "
            f"signal {b.signal_id})")


def _exact(value: Decimal) -> str:
    return format(value.normalize(), "f")
