"""The read API: agents, open positions, executions per signal, closed trades and the
ledger (cursor pages), performance, balance history and price history — for programs.

Every route needs a key with the ``read`` scope (``admin`` holds it too). A key sees only its
user's agents and their rows; an ``admin`` key sees every user's. Another user's agent is
answered like a missing one (404), so ids reveal nothing.

No ``from __future__ import annotations`` here: FastAPI reads the route annotations.
"""

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BeforeValidator
from sqlalchemy.orm import Session

from domain.config import TradingConfig, take_profit_levels
from domain.errors import InvalidConfig, InvalidInput
from domain.money import HUNDRED, in_context, price
from persistence import listings, views
from persistence.read_connection import of_session
from workers.bootstrap import Container
from workers.handlers.operators.keys import Principal
from workers.handlers.operators.report import report
from workers.handlers.shared.configs import trading_config
from workers.http.auth import require_scope
from workers.http.read_models import (
    AgentOut,
    ExecutionOut,
    MoonBagOut,
    PerformanceOut,
    PositionOut,
    PriceOut,
    SnapshotOut,
    StopLossOut,
    TakeProfitOut,
    TradeOut,
    TradesPage,
    TransactionOut,
    TransactionsPage,
)
from workers.http.schemas import FieldError, Problem

MINT_PATTERN = "^[1-9A-HJ-NP-Za-km-z]{32,44}$"
CloseReason = Literal["stop_loss", "take_profit", "stale_trade", "signal", "manual", "burn"]
TxReason = Literal[listings.TRANSACTION_REASONS]  # type: ignore[valid-type]

Reader = Annotated[Principal, Depends(require_scope("read"))]
AgentId = Annotated[uuid.UUID, Path(description="an agent's id")]
AgentFilter = Annotated[uuid.UUID | None, Query(description="only this agent's rows")]
Token = Annotated[str | None, Query(min_length=1, max_length=50, pattern=r"^[^\x00-\x1f\x7f]+$",
                                    description="a mint, or a symbol (case-insensitive)")]


def _iso_only(value: Any) -> Any:
    """Times are ISO 8601 (``2026-01-31T12:00:00Z``); pydantic alone would also take a bare
    number as seconds since 1970, which the documented schema does not allow."""
    if isinstance(value, str) and not ISO_DATE.match(value):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z")
    return value


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]")
Time = Annotated[datetime | None, BeforeValidator(_iso_only)]
Since = Annotated[Time, Query(description="from this time (inclusive; UTC without a zone)")]
Until = Annotated[Time, Query(description="before this time (exclusive; UTC without a zone)")]
Cursor = Annotated[str | None, Query(pattern=listings.CURSOR_PATTERN,
                                     description="`next_cursor` of the previous page")]
Limit = Annotated[int, Query(ge=1, le=500, description="rows per page")]


def _problem(description: str, model: type = Problem) -> dict[str, Any]:
    return {"model": model, "description": description}


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem("missing, unknown or revoked X-API-Key"),
    403: _problem("the key lacks the `read` scope"),
    429: _problem("rate limit reached"),
    503: _problem("database or Redis unavailable; retry"),
}
Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: _problem("no such agent (or not this key's user's)")}
BAD_FILTER: Responses = {400: _problem("an unknown query parameter or a bad filter: names it",
                                       FieldError)}


def _session(request: Request) -> Iterator[Session]:
    runtime: Container = request.app.state.gate.container
    with runtime.session_factory() as session:
        yield session


Db = Annotated[Session, Depends(_session)]


def _scope(who: Principal) -> uuid.UUID | None:
    """The user whose rows the key may read; None (every user) for an admin key."""
    return None if who.is_admin else who.user_id


def _aware(at: datetime | None) -> datetime | None:
    """A time without a zone is UTC."""
    return at if at is None or at.tzinfo is not None else at.replace(tzinfo=UTC)


def _visible(session: Session, who: Principal, agent_id: uuid.UUID) -> None:
    if not views.agent_visible(session, _scope(who), agent_id):
        raise HTTPException(404, "no such agent")


def _query_names(dependant: Any) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _known_query_only(request: Request) -> None:
    """A query parameter the route does not take is refused (400, naming it): a misspelt
    filter must not silently answer every row."""
    route = request.scope.get("route")
    if route is None:
        return
    known = _query_names(route.dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise InvalidInput(unknown[0][:100], "unknown query parameter; this route takes "
                                             f"{', '.join(sorted(known)) or 'none'}")


def read_router() -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["read"], dependencies=[Depends(_known_query_only)],
                       responses={**AUTH_RESPONSES, **BAD_FILTER})

    @router.get("/agents", response_model=list[AgentOut], summary="The key's agents")
    def list_agents(who: Reader, db: Db) -> list[dict[str, Any]]:
        return views.agents(db, _scope(who))

    @router.get("/agents/{agent_id}", response_model=AgentOut, responses=NOT_FOUND,
                summary="One agent")
    def get_agent(agent_id: AgentId, who: Reader, db: Db) -> dict[str, Any]:
        rows = views.agents(db, _scope(who), agent_id)
        if not rows:
            raise HTTPException(404, "no such agent")
        return rows[0]

    @router.get("/positions", response_model=list[PositionOut],
                summary="Open positions: stop price, take-profit progress, moon bag")
    def list_positions(who: Reader, db: Db, agent_id: AgentFilter = None) -> list[PositionOut]:
        return [position_out(row) for row in views.positions(db, _scope(who), agent_id)]

    @router.get("/signals/{signal_id}/executions", response_model=list[ExecutionOut],
                responses={404: _problem("no such signal (or not this key's user's)")},
                summary="What each of the key's agents did with a signal, and why")
    def signal_executions(signal_id: Annotated[int, Path(ge=1, le=2**63 - 1)], who: Reader,
                          db: Db) -> list[dict[str, Any]]:
        if not views.signal_visible(db, _scope(who), signal_id):
            raise HTTPException(404, "no such signal")
        return views.executions(db, _scope(who), signal_id)

    @router.get("/trades", response_model=TradesPage,
                summary="Closed trades, newest first (cursor pages)")
    def list_trades(who: Reader, db: Db, agent_id: AgentFilter = None, token: Token = None,
                    reason: CloseReason | None = None, since: Since = None,
                    until: Until = None, cursor: Cursor = None, limit: Limit = 100) -> TradesPage:
        f = listings.LedgerFilter(_scope(who), agent_id, token, reason, _aware(since),
                                  _aware(until))
        page = listings.trades(of_session(db), f, after=_cursor(cursor), limit=limit)
        return TradesPage(items=[TradeOut(**r) for r in page.rows],
                          next_cursor=page.next_cursor)

    @router.get("/transactions", response_model=TransactionsPage,
                summary="Ledger rows (deposits, withdrawals, swaps), newest first")
    def list_transactions(who: Reader, db: Db, agent_id: AgentFilter = None,
                          token: Token = None, reason: TxReason | None = None,
                          since: Since = None, until: Until = None, cursor: Cursor = None,
                          limit: Limit = 100) -> TransactionsPage:
        f = listings.LedgerFilter(_scope(who), agent_id, token, reason, _aware(since),
                                  _aware(until))
        page = listings.transactions(of_session(db), f, after=_cursor(cursor), limit=limit)
        return TransactionsPage(items=[TransactionOut(**r) for r in page.rows],
                                next_cursor=page.next_cursor)

    @router.get("/agents/{agent_id}/performance", response_model=PerformanceOut,
                responses=NOT_FOUND, summary="Realized and unrealized PnL, win rate, drawdown")
    def performance(request: Request, agent_id: AgentId, who: Reader, db: Db,
                    since: Since = None) -> PerformanceOut:
        _visible(db, who, agent_id)
        gate = request.app.state.gate
        start = _aware(since)
        [r] = report(agent_id, start, gate.deps)
        p = r.performance
        return PerformanceOut(
            agent_id=r.agent_id, name=r.name, since=start, realized_pnl_sol=p.realized_pnl_sol,
            unrealized_pnl_sol=p.unrealized_pnl_sol, unpriced_positions=list(r.unpriced),
            win_rate_percent=p.win_rate_percent, average_return_percent=p.average_return_percent,
            closed_trades=p.closed_trades, open_positions=p.open_positions,
            fees_paid_sol=p.fees_paid_sol, max_drawdown_percent=p.max_drawdown_percent)

    @router.get("/agents/{agent_id}/balance-history", response_model=list[SnapshotOut],
                responses=NOT_FOUND, summary="Hourly balance snapshots, oldest first")
    def balance_history(agent_id: AgentId, who: Reader, db: Db, since: Since = None,
                        until: Until = None,
                        limit: Annotated[int, Query(ge=1, le=5000)] = 720) -> list[dict[str, Any]]:
        _visible(db, who, agent_id)
        return views.balance_history(db, agent_id, since=_aware(since), until=_aware(until),
                                     limit=limit)

    @router.get("/prices/{token_address}", response_model=list[PriceOut],
                summary="A token's price history, newest first")
    def price_history(token_address: Annotated[str, Path(pattern=MINT_PATTERN)], who: Reader,
                      db: Db, since: Since = None, until: Until = None,
                      limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict[str, Any]]:
        return views.price_history(db, token_address, since=_aware(since),
                                   until=_aware(until), limit=limit)

    return router


def _cursor(text: str | None) -> listings.Cursor | None:
    return None if text is None else listings.Cursor.decode(text)


@in_context
def position_out(row: dict[str, Any]) -> PositionOut:
    """A position row with its stop price and take-profit progress, from its agent's rules
    (docs/rules.md §7, §8); config-dependent figures are None if the config does not parse."""
    config: TradingConfig | None
    try:
        config = trading_config(row["trading_config"])
    except InvalidConfig:
        config = None
    holding = row["remaining_amount"] if row["remaining_amount"] is not None \
        else row["purchase_amount"]
    stop_pct: Decimal | None = row["current_stop_loss_percentage"]
    stop_price = None if stop_pct is None else price(
        row["purchase_price"] * (1 + stop_pct / HUNDRED))
    return PositionOut(
        **{k: row[k] for k in ("id", "agent_id", "wallet_address", "token_address",
                               "token_symbol", "purchase_price", "purchase_amount",
                               "total_invested_sol", "realized_profit_sol", "dca_count",
                               "last_dca_time", "created_at", "updated_at")},
        holding=holding,
        stop_loss=StopLossOut(percentage=stop_pct, stop_price=stop_price,
                              peak_price=row["peak_price"]),
        take_profit=TakeProfitOut(**_take_profit(row, config)),
        moon_bag=MoonBagOut(activated=row["moon_bag_activated"],
                            amount=row["moon_bag_amount"]))


def _take_profit(row: dict[str, Any], config: TradingConfig | None) -> dict[str, Any]:
    hit = row["take_profit_levels_hit"]
    if config is None:
        return {"enabled": None, "levels_hit": hit, "levels_total": row[
            "total_take_profit_levels"], "next_target_percent": None}
    levels = take_profit_levels(config).levels
    stored = row["total_take_profit_levels"]
    total = len(levels) if stored is None else stored
    index = hit - row["tp_batch_start_level"]
    upcoming = levels[index].target_percent if hit < total and 0 <= index < len(levels) \
        else None
    return {"enabled": config.take_profit.enabled, "levels_hit": hit, "levels_total": total,
            "next_target_percent": upcoming}
