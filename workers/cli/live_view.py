"""The terminal view of ``fleet run``: signals, trades, open positions and closed trades,
refreshed every second from the database."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from persistence import queries


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title, title_justify="left", expand=True)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


def _num(value: Decimal | None, places: int = 6) -> str:
    return "" if value is None else f"{value:.{places}f}".rstrip("0").rstrip(".")


def render(factory: sessionmaker[Session], header: str) -> Group:
    with factory() as s:
        signals = queries.signals(s, 6)
        trades = queries.trade_log(s, 8)
        positions = queries.positions(s)
        closed = queries.closed_trades(s, 6)
    return Group(
        Panel(header, title="signalfleet", border_style="cyan"),
        _table("signals", ["id", "type", "strength", "status", "agents"], [
            [r["id"], r["signal_type"], r["signal_strength"], r["status"],
             r["eligible_agents"]] for r in signals]),
        _table("trades", ["time", "kind", "sold", "bought"], [
            [r["transaction_time"].strftime("%H:%M:%S"), _kind(r),
             f"{_num(r['input_amount'], 4)} {r['input_symbol']}",
             f"{_num(r['output_amount'], 4)} {r['output_symbol']}"] for r in trades]),
        _table("open positions", ["token", "avg price", "holding", "invested SOL", "stop %",
                                  "peak", "DCAs", "TP levels"], [
            [r["token_symbol"], _num(r["purchase_price"], 8), _num(r["holding"], 2),
             _num(r["total_invested_sol"]), _num(r["current_stop_loss_percentage"], 2),
             _num(r["peak_price"], 8), r["dca_count"], r["take_profit_levels_hit"]]
            for r in positions]),
        _table("closed trades", ["token", "reason", "PnL SOL", "change %"], [
            [r["token_symbol"], r["close_reason"], _num(r["profit_loss_sol"]),
             _num(r["change_percent"], 2)] for r in closed]),
    )


def _kind(row: dict[str, Any]) -> str:
    if row["is_dca"]:
        return "DCA"
    if row["is_take_profit"]:
        return "take profit"
    return "buy" if row["input_symbol"] == "SOL" else "sell"
