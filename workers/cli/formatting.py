"""Numbers and tables for people: amounts with sensible significant digits (never ``0E-18``),
tables that fit the terminal (80 columns when it is not one: long text folds, ids and numbers
stay whole) and ``--wide`` for every column at its natural width.
``--json`` and ``--csv`` keep every column at full precision.

Nothing heavy at import: rich loads when a table is printed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

SIGNIFICANT = 6
WIDE = 1000  # --wide: as wide as the table needs (a terminal wraps, `less -S` scrolls)


def amount(value: Any) -> str:
    """A SOL or token amount, or a price: at most 6 significant digits, no exponent,
    thousands separated, trailing zeros dropped (``0E-18`` reads ``0``)."""
    if value is None:
        return ""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite():
        return str(number)
    if number.is_zero():
        return "0"
    with localcontext() as ctx:  # a context of its own: formatting never traps
        ctx.prec = 80
        ctx.clear_traps()
        places = max(0, SIGNIFICANT - 1 - number.adjusted())
        rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    text = f"{rounded:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(value: Any) -> str:
    """A percentage with at most two decimals: ``-20``, ``24.95``."""
    if value is None:
        return ""
    with localcontext() as ctx:
        ctx.clear_traps()
        text = f"{Decimal(str(value)).quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def moment(value: Any) -> str:
    """A timestamp, to the second, in UTC as stored (``12-02 15:52:26``)."""
    return value.strftime("%m-%d %H:%M:%S") if isinstance(value, datetime) else plain(value)


def plain(value: Any) -> str:
    return "" if value is None else str(value)


def id_col(key: str, header: str, *, wide: bool = False) -> Column:
    return Column(key, header, plain, wide, whole=True)


def short(value: Any) -> str:
    """An address or id cut to its first 8 characters (``--wide`` shows it whole)."""
    text = plain(value)
    return text if len(text) <= 10 else text[:8] + "…"


def token(row: dict[str, Any]) -> str:
    """A token by its symbol, else its mint cut short (never ``None``)."""
    symbol = row.get("token_symbol") or row.get("symbol")
    return str(symbol) if symbol else short(row.get("token_address"))


@dataclass(frozen=True)
class Column:
    key: str | Callable[[dict[str, Any]], Any]  # a field, or a function of the row
    header: str
    show: Callable[[Any], str] = plain
    wide: bool = False  # only with --wide
    numeric: bool = False
    whole: bool = False  # ids, amounts: the other columns fold first
    narrow: bool = False  # only without --wide (a short form of a wide column)

    def cell(self, row: dict[str, Any]) -> str:
        return self.show(self.key(row) if callable(self.key) else row.get(self.key))


def sol_col(key: str, header: str, *, wide: bool = False) -> Column:
    return Column(key, header, amount, wide, numeric=True, whole=True)


def pct_col(key: str, header: str, *, wide: bool = False) -> Column:
    return Column(key, header, percent, wide, numeric=True, whole=True)


def full_text(value: Any) -> Any:
    """A value as JSON and CSV carry it: decimals whole and without exponent."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [full_text(v) for v in value]
    if isinstance(value, dict):
        return {str(k): full_text(v) for k, v in value.items()}
    return str(value)


def as_json(rows: Sequence[dict[str, Any]]) -> str:
    return json.dumps([{k: full_text(v) for k, v in r.items()} for r in rows], indent=2)


def as_csv(rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: full_text(v) for k, v in r.items()} for r in rows)
    return out.getvalue()


def table(rows: Sequence[dict[str, Any]], columns: Sequence[Column], *, title: str,
          wide: bool = False) -> Any:
    """A rich table of the chosen columns; a cell never ends in ``…``: long values fold."""
    from rich import box
    from rich.table import Table

    shown = [c for c in columns if (not c.narrow if wide else not c.wide)]
    out = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                pad_edge=False)
    for column in shown:
        out.add_column(column.header, justify="right" if column.numeric else "left",
                       overflow="fold", no_wrap=column.whole)
    for row in rows:
        out.add_row(*(column.cell(row) for column in shown))
    return out
