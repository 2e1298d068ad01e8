"""The read side of the ledger for operators and the read API: closed trades
(``agent_historical_swaps``) and ledger transactions, filtered and paginated by a keyset
cursor (newest first). Plain rows (dicts), no domain rules.

Tenancy: ``LedgerFilter.user_id`` keeps only that user's agents' rows (None: every user).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, tuple_
from sqlalchemy.orm import Session

from domain.errors import InvalidInput
from domain.ledger import SOL_MINT
from persistence import models as m

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


def trades(session: Session, f: LedgerFilter, *, after: Cursor | None = None,
           limit: int | None = 100) -> Page:
    """Closed trades, newest sale first."""
    h, a = m.AgentHistoricalSwap, m.Agent
    if f.reason is not None and f.reason not in CLOSE_REASONS:
        raise InvalidInput("reason", f"must be one of {', '.join(CLOSE_REASONS)}")
    stmt: Any = select(h.id, h.agent_id, a.name.label("agent_name"), h.wallet_address,
                  h.token_address, h.token_symbol, h.amount, h.purchase_price, h.sale_price,
                  h.change_percent, h.profit_loss_sol, h.profit_loss_usd, h.purchase_time,
                  h.sale_time, h.close_reason, h.signal_id, h.purchase_transaction_id,
                  h.sale_transaction_id).join(a, a.id == h.agent_id)
    stmt = _common(stmt, f, h.agent_id, h.sale_time,
                   or_(h.token_address == f.token, func.upper(h.token_symbol) == _upper(f.token)))
    if f.reason is not None:
        stmt = stmt.where(h.close_reason == f.reason)
    return _page(session, stmt, h.sale_time, h.id, "sale_time", after, limit)


def transaction_reason() -> Any:
    """The ``reason`` column of a ledger row (a sale that closed a position: its close
    reason; a take-profit sale: ``take_profit``; a buy: ``buy`` or ``dca``; a row of the
    wallet sync: ``sync_deposit``, ``sync_withdrawal`` or ``unexplained``)."""
    t, h = m.AgentTransaction, m.AgentHistoricalSwap
    return case(
        (t.adjustment == "deposit", "sync_deposit"),  # the wallet sync's rows (§12)
        (t.adjustment == "withdrawal", "sync_withdrawal"),
        (t.adjustment == "unexplained", "unexplained"),
        (t.transaction_type == "DEPOSIT", "deposit"),
        (t.transaction_type == "WITHDRAWAL", "withdrawal"),
        (t.transaction_type == "BURN", "burn"),
        (and_(t.input_mint == SOL_MINT, t.is_dca), "dca"),
        (t.input_mint == SOL_MINT, "buy"),
        (h.close_reason.is_not(None), h.close_reason),
        (t.is_take_profit, "take_profit"),
        else_="sell")


def transactions(session: Session, f: LedgerFilter, *, after: Cursor | None = None,
                 limit: int | None = 100) -> Page:
    """Ledger rows, newest first, each with its ``reason``."""
    t, h, a = m.AgentTransaction, m.AgentHistoricalSwap, m.Agent
    if f.reason is not None and f.reason not in TRANSACTION_REASONS:
        raise InvalidInput("reason", f"must be one of {', '.join(TRANSACTION_REASONS)}")
    reason = transaction_reason().label("reason")
    stmt: Any = (select(t.id, t.agent_id, a.name.label("agent_name"), t.wallet_address,
                   t.transaction_type, reason, t.transaction_time, t.input_mint,
                   t.input_symbol, t.input_amount, t.input_price, t.output_mint,
                   t.output_symbol, t.output_amount, t.output_price, t.protocol_fee_sol,
                   t.network_fee_sol, t.price_impact, t.transaction_hash, t.signal_id,
                   t.is_dca, t.is_take_profit)
            .join(a, a.id == t.agent_id)
            .outerjoin(h, h.sale_transaction_id == t.id))
    token = f.token
    stmt = _common(stmt, f, t.agent_id, t.transaction_time, or_(
        t.input_mint == token, t.output_mint == token,
        func.upper(t.input_symbol) == _upper(token), func.upper(t.output_symbol) == _upper(token)))
    if f.reason is not None:
        stmt = stmt.where(transaction_reason() == f.reason)
    return _page(session, stmt, t.transaction_time, t.id, "transaction_time", after, limit)


def _upper(text: str | None) -> str | None:
    return None if text is None else text.upper()


def _common(stmt: Any, f: LedgerFilter, agent_col: Any, time_col: Any,
            token_match: Any) -> Any:
    if f.user_id is not None:
        stmt = stmt.where(m.Agent.user_id == f.user_id)
    if f.agent_id is not None:
        stmt = stmt.where(agent_col == f.agent_id)
    if f.token is not None:
        stmt = stmt.where(token_match)
    if f.since is not None:
        stmt = stmt.where(time_col >= f.since)
    if f.until is not None:
        stmt = stmt.where(time_col < f.until)
    return stmt


def _page(session: Session, stmt: Any, time_col: Any, id_col: Any, time_key: str,
          after: Cursor | None, limit: int | None) -> Page:
    if after is not None:
        stmt = stmt.where(tuple_(time_col, id_col) < tuple_(after.time, after.id))
    stmt = stmt.order_by(time_col.desc(), id_col.desc())
    if limit is not None:
        stmt = stmt.limit(limit + 1)
    rows = [dict(row._mapping) for row in session.execute(stmt)]
    if limit is None or len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    last = rows[-1]
    return Page(rows, Cursor(last[time_key], last["id"]).encode())
