"""The terminal view of ``fleet run``: agents (SOL balance, PnL), signals, trades, open
positions and closed trades, refreshed every second from the database, with a legend.

Profit and loss use the report's one formula (``workers.handlers.operators.report``) at the
prices the workers last cached in Redis.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from persistence import queries
from persistence.cache import Cache
from persistence.read_connection import borrowed
from workers.cli.formatting import amount, percent, token
from workers.handlers.operators.report import report

if TYPE_CHECKING:
    from domain.ports import PriceQuote
    from workers.bootstrap import Container

MAX_AGENTS = 8
LEGEND = (
    "PnL: realized (closed trades and partial sales) + unrealized (held tokens at the last "
    "cached price), in SOL.  invested: SOL spent, fees included.  stop: the exit price as a "
    "change from the average buy price; 'trailing' once a peak lifted it above the buy price "
    "(it only ever rises).  TP: take-profit levels sold / in the ladder.  moon bag: the tokens "
    "kept after the ladder, sold only by the stop or a sell signal.")


class CachedPrices:
    """The prices the workers last cached (a view must not call the price feed itself)."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    def get_prices(self, token_addresses: Sequence[str]) -> dict[str, PriceQuote]:
        return self._cache.latest_prices(token_addresses)


WHOLE = frozenset({"stop", "time (UTC)", "token", "TP", "moon bag", "kind"})


def _table(title: str, columns: list[str], rows: list[list[Any]],
           numeric: frozenset[str] = frozenset()) -> Table:
    table = Table(title=title, title_justify="left", expand=True, box=box.SIMPLE_HEAD,
                  show_edge=False)
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left",
                         overflow="fold", no_wrap=column in WHOLE or column in numeric,
                         min_width=8 if column == "agent" else None)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


def render(c: Container, header: str) -> Group:
    with borrowed(c.engine) as conn:
        agents = queries.agents(conn)
        signals = queries.signals(conn, 6)
        trades = queries.trade_log(conn, 8)
        positions = queries.positions(conn)
        closed = queries.closed_trades(conn, 6)
    return Group(
        Panel(header, title="signalfleet", border_style="cyan"),
        agents_table(c, agents),
        _table("signals", ["id", "token", "type", "strength", "status", "agents"], [
            [r["id"], token(r), r["signal_type"], r["signal_strength"], r["status"],
             r["eligible_agents"]] for r in signals], frozenset({"id", "strength", "agents"})),
        _table("trades", ["time (UTC)", "agent", "kind", "sold", "bought"], [
            [r["transaction_time"].strftime("%H:%M:%S"), r["agent"], _kind(r),
             _side(r, "input"), _side(r, "output")] for r in trades]),
        _table("open positions", ["agent", "token", "holding", "invested", "stop", "TP",
                                  "moon bag"], [
            [r["agent"], token(r), amount(r["holding"]), amount(r["total_invested_sol"]),
             stop_label(r["current_stop_loss_percentage"]), _tp(r), _moon(r)]
            for r in positions], frozenset({"holding", "invested", "moon bag"})),
        _table("closed trades", ["agent", "token", "reason", "PnL SOL", "change %"], [
            [r["agent"], token(r), r["close_reason"], amount(r["profit_loss_sol"]),
             percent(r["change_percent"])] for r in closed],
            frozenset({"PnL SOL", "change %"})),
        Text(LEGEND, style="dim"),
    )


def agents_table(c: Container, agents: list[dict[str, Any]]) -> Table:
    """Each agent's SOL balance and PnL (the first few agents of a large fleet)."""
    deps = dataclasses.replace(c.deps, prices=CachedPrices(Cache(c.redis)))
    rows = []
    for agent in agents[:MAX_AGENTS]:
        [figures] = report(agent["id"], None, deps)
        p = figures.performance
        rows.append([agent["name"], agent["trading_mode"], amount(agent["sol_balance"]),
                     agent["open_positions"], amount(p.realized_pnl_sol),
                     amount(p.unrealized_pnl_sol),
                     amount(p.realized_pnl_sol + p.unrealized_pnl_sol)])
    title = "agents" if len(agents) <= MAX_AGENTS else (
        f"agents (first {MAX_AGENTS} of {len(agents)}: `fleet report` lists all)")
    return _table(title, ["agent", "mode", "SOL", "open", "realized", "unrealized",
                          "total PnL"], rows,
                  frozenset({"SOL", "open", "realized", "unrealized", "total PnL"}))


def stop_label(value: Any) -> str:
    """``-20%`` for a stop below the buy price; ``+24.95% trailing`` once it is above."""
    if value is None:
        return "off"
    text = percent(value)
    return f"+{text}% trailing" if value > 0 else f"{text}%"


def _tp(row: dict[str, Any]) -> str:
    total = row.get("total_take_profit_levels")
    hit = row["take_profit_levels_hit"]
    return f"{hit}/{total}" if total else str(hit)


def _moon(row: dict[str, Any]) -> str:
    if not row.get("moon_bag_activated"):
        return ""
    return amount(row.get("moon_bag_amount"))


def _side(row: dict[str, Any], side: str) -> str:
    symbol = row[f"{side}_symbol"] or token({"token_address": row[f"{side}_mint"]})
    return f"{amount(row[f'{side}_amount'])} {symbol}"


def _kind(row: dict[str, Any]) -> str:
    if row["is_dca"]:
        return "DCA"
    if row["is_take_profit"]:
        return "take profit"
    return "buy" if row["input_symbol"] == "SOL" else "sell"
