"""The read side of the ledger for operators and the read API: closed trades
(``agent_historical_swaps``) and ledger transactions, filtered and paginated by a keyset
cursor (newest first). Plain rows (dicts), no domain rules.

Plain SQL over a psycopg connection: ``fleet trades`` and ``fleet transactions`` open one
without importing SQLAlchemy (``persistence/read_connection.py``), and the read API and the
dashboard pass the one under their session (``of_session``), so all three read the same
query. Tenancy: ``LedgerFilter.user_id`` keeps only that user's agents' rows (None: every
user).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import Connection

from domain.errors import InvalidInput
from domain.ledger import SOL_MINT
from persistence.read_connection import rows

CLOSE_REASONS = ("stop_loss", "take_profit", "stale_trade", "signal", "manual", "burn")
# What a ledger row was, as one word (``--reason`` of ``fleet transactions``).
TRANSACTION_REASONS = ("deposit", "withdrawal", "buy", "dca", "take_profit", "sell", "burn",
                       "sync_deposit", "sync_withdrawal", "unexplained",
                       *(r for r in CLOSE_REASONS if r not in ("take_profit", "burn")))


@dataclass(frozen=True)
class LedgerFilter:
    user_id: uuid.UUID | None = None  # tenancy: None = every user (operator, admin key)
    agent_id: uuid.UUID | None = None
    token: str | None = None  # a mint, or a symbol (case-insensitive)
    reason: str | None = None  # trades: close reason; transactions: see TRANSACTION_REASONS
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


CURSOR_PATTERN = r"^[0-9]{1,16}_[0-9a-f]{32}$"
_CURSOR = re.compile(CURSOR_PATTERN)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the (time, id) of its last row; the next page starts after it.
    Written ``<microseconds since 1970>_<id as hex>``: every string of that shape is a
    position in the listing, so no well-formed cursor is ever refused."""

    time: datetime
    id: uuid.UUID

    def encode(self) -> str:
        micros = (self.time - _EPOCH) // timedelta(microseconds=1)
        return f"{micros}_{self.id.hex}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        if not _CURSOR.fullmatch(text):
            raise InvalidInput("cursor", "is not a cursor this API returned")
        micros, ident = text.split("_")
        return cls(_EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(hex=ident))


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str | None  # None: this was the last page


_TRADES = """
    SELECT h.id, h.agent_id, a.name AS agent_name, h.wallet_address, h.token_address,
           h.token_symbol, h.amount, h.purchase_price, h.sale_price, h.change_percent,
           h.profit_loss_sol, h.profit_loss_usd, h.purchase_time, h.sale_time, h.close_reason,
           h.signal_id, h.purchase_transaction_id, h.sale_transaction_id
      FROM agent_historical_swaps h JOIN agents a ON a.id = h.agent_id"""


def trades(conn: Connection[Any], f: LedgerFilter, *, after: Cursor | None = None,
           limit: int | None = 100) -> Page:
    """Closed trades, newest sale first."""
    if f.reason is not None and f.reason not in CLOSE_REASONS:
        raise InvalidInput("reason", f"must be one of {', '.join(CLOSE_REASONS)}")
    where = _common(f, "h.agent_id", "h.sale_time",
                    "(h.token_address = %(token)s OR upper(h.token_symbol) = %(symbol)s)")
    if f.reason is not None:
        where.append("h.close_reason = %(reason)s")
    return _page(conn, _TRADES, where, f, "h.sale_time", "h.id", "sale_time", after, limit)


# The ``reason`` of a ledger row (a sale that closed a position: its close reason; a
# take-profit sale: ``take_profit``; a buy: ``buy`` or ``dca``; a row of the wallet sync:
# ``sync_deposit``, ``sync_withdrawal`` or ``unexplained``).
_REASON = """CASE WHEN t.adjustment = 'deposit' THEN 'sync_deposit'
         WHEN t.adjustment = 'withdrawal' THEN 'sync_withdrawal'
         WHEN t.adjustment = 'unexplained' THEN 'unexplained'
         WHEN t.transaction_type = 'DEPOSIT' THEN 'deposit'
         WHEN t.transaction_type = 'WITHDRAWAL' THEN 'withdrawal'
         WHEN t.transaction_type = 'BURN' THEN 'burn'
         WHEN t.input_mint = %(sol)s AND t.is_dca THEN 'dca'
         WHEN t.input_mint = %(sol)s THEN 'buy'
         WHEN h.close_reason IS NOT NULL THEN h.close_reason
         WHEN t.is_take_profit THEN 'take_profit'
         ELSE 'sell' END"""
_TRANSACTIONS = f"""
    SELECT t.id, t.agent_id, a.name AS agent_name, t.wallet_address, t.transaction_type,
           {_REASON} AS reason, t.transaction_time, t.input_mint, t.input_symbol,
           t.input_amount, t.input_price, t.output_mint, t.output_symbol, t.output_amount,
           t.output_price, t.protocol_fee_sol, t.network_fee_sol, t.price_impact,
           t.transaction_hash, t.signal_id, t.is_dca, t.is_take_profit
      FROM agent_transactions t JOIN agents a ON a.id = t.agent_id
      LEFT OUTER JOIN agent_historical_swaps h ON h.sale_transaction_id = t.id"""


def transactions(conn: Connection[Any], f: LedgerFilter, *, after: Cursor | None = None,
                 limit: int | None = 100) -> Page:
    """Ledger rows, newest first, each with its ``reason``."""
    if f.reason is not None and f.reason not in TRANSACTION_REASONS:
        raise InvalidInput("reason", f"must be one of {', '.join(TRANSACTION_REASONS)}")
    where = _common(f, "t.agent_id", "t.transaction_time",
                    "(t.input_mint = %(token)s OR t.output_mint = %(token)s"
                    " OR upper(t.input_symbol) = %(symbol)s"
                    " OR upper(t.output_symbol) = %(symbol)s)")
    if f.reason is not None:
        where.append(f"{_REASON} = %(reason)s")
    return _page(conn, _TRANSACTIONS, where, f, "t.transaction_time", "t.id",
                 "transaction_time", after, limit)


def _common(f: LedgerFilter, agent_col: str, time_col: str, token_match: str) -> list[str]:
    """The filter's conditions (fixed SQL; the values are bound, see ``_page``)."""
    where = []
    if f.user_id is not None:
        where.append("a.user_id = %(user)s")
    if f.agent_id is not None:
        where.append(f"{agent_col} = %(agent)s")
    if f.token is not None:
        where.append(token_match)
    if f.since is not None:
        where.append(f"{time_col} >= %(since)s")
    if f.until is not None:
        where.append(f"{time_col} < %(until)s")
    return where


def _page(conn: Connection[Any], select: str, where: list[str], f: LedgerFilter,
          time_col: str, id_col: str, time_key: str, after: Cursor | None,
          limit: int | None) -> Page:
    if after is not None:
        where = [*where, f"({time_col}, {id_col}) < (%(after_time)s, %(after_id)s)"]
    sql = (select + "".join(f"\n     {'WHERE' if i == 0 else '  AND'} {c}"
                            for i, c in enumerate(where))
           + f"\n     ORDER BY {time_col} DESC, {id_col} DESC"
           + ("" if limit is None else "\n     LIMIT %(limit)s"))
    params = {"sol": SOL_MINT, "user": f.user_id, "agent": f.agent_id, "token": f.token,
              "symbol": None if f.token is None else f.token.upper(), "reason": f.reason,
              "since": f.since, "until": f.until, "limit": None if limit is None else limit + 1,
              "after_time": after and after.time, "after_id": after and after.id}
    found = rows(conn, sql, params)
    if limit is None or len(found) <= limit:
        return Page(found, None)
    found = found[:limit]
    last = found[-1]
    return Page(found, Cursor(last[time_key], last["id"]).encode())
