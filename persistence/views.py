"""Read-side views for the read API: agents, positions, executions, balance history and
price history, as plain rows (dicts). No domain rules.

Tenancy: every function taking ``user_id`` keeps only that user's agents' rows; ``None``
means every user (an ``admin`` key, or the operator's CLI).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.ledger import SOL_MINT
from persistence import models as m


def _rows(session: Session, stmt: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in session.execute(stmt)]


def _mine(stmt: Any, user_id: uuid.UUID | None) -> Any:
    return stmt if user_id is None else stmt.where(m.Agent.user_id == user_id)


def agents(session: Session, user_id: uuid.UUID | None,
           agent_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    a = m.Agent
    sol = (select(func.coalesce(func.sum(m.AgentBalance.balance), 0))
           .where(m.AgentBalance.agent_id == a.id, m.AgentBalance.token_address == SOL_MINT)
           .scalar_subquery())
    held = (select(func.count()).select_from(m.AgentPosition)
            .where(m.AgentPosition.agent_id == a.id).scalar_subquery())
    stmt = select(a.id, a.user_id, a.name, a.trading_mode, a.automated_trading_simulation,
                  a.automated_trading_live, a.archived_at, a.created_at,
                  sol.label("sol_balance"), held.label("open_positions"))
    if agent_id is not None:
        stmt = stmt.where(a.id == agent_id)
    return _rows(session, _mine(stmt, user_id).order_by(a.created_at, a.id))


def agent_visible(session: Session, user_id: uuid.UUID | None, agent_id: uuid.UUID) -> bool:
    stmt = _mine(select(m.Agent.id).where(m.Agent.id == agent_id), user_id)
    return session.execute(stmt).first() is not None


def positions(session: Session, user_id: uuid.UUID | None,
              agent_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Open positions with what the read API derives from them (stop price, take-profit
    progress) computed by the caller from these columns and the agent's config."""
    p = m.AgentPosition
    stmt = (select(p.id, p.agent_id, p.wallet_address, p.token_address, p.token_symbol,
                   p.purchase_price, p.purchase_amount, p.remaining_amount,
                   p.total_invested_sol, p.current_stop_loss_percentage, p.peak_price,
                   p.dca_count, p.last_dca_time, p.take_profit_levels_hit,
                   p.tp_batch_start_level, p.total_take_profit_levels, p.moon_bag_activated,
                   p.moon_bag_amount, p.realized_profit_sol, p.created_at, p.updated_at,
                   m.Agent.trading_config)
            .join(m.Agent, m.Agent.id == p.agent_id))
    if agent_id is not None:
        stmt = stmt.where(p.agent_id == agent_id)
    return _rows(session, _mine(stmt, user_id).order_by(p.created_at, p.id))


def signal_visible(session: Session, user_id: uuid.UUID | None, signal_id: int) -> bool:
    """A signal exists and is the caller's (its own, or it reached one of the caller's
    agents)."""
    s = m.TradingSignal
    row = session.execute(select(s.user_id).where(s.id == signal_id)).first()
    if row is None:
        return False
    if user_id is None or row.user_id == user_id:
        return True
    reached = (select(m.SignalExecution.id).join(m.Agent, m.Agent.id == m.SignalExecution.agent_id)
               .where(m.SignalExecution.signal_id == signal_id, m.Agent.user_id == user_id))
    return session.execute(reached.limit(1)).first() is not None


def executions(session: Session, user_id: uuid.UUID | None,
               signal_id: int) -> list[dict[str, Any]]:
    e = m.SignalExecution
    stmt = (select(e.signal_id, e.agent_id, m.Agent.name.label("agent_name"), e.status,
                   e.action, e.reason, e.transaction_id, e.executed_at)
            .join(m.Agent, m.Agent.id == e.agent_id).where(e.signal_id == signal_id))
    return _rows(session, _mine(stmt, user_id).order_by(e.executed_at, e.agent_id))


def balance_history(session: Session, agent_id: uuid.UUID, *, since: datetime | None,
                    until: datetime | None, limit: int) -> list[dict[str, Any]]:
    """Hourly snapshots of the agent's wallets, oldest first (the caller checked tenancy)."""
    t = m.AgentBalanceSnapshot
    stmt = select(t.snapshot_timestamp, t.wallet_address, t.sol_balance, t.positions_value_sol,
                  t.unrealized_pnl_sol, t.portfolio_balance_sol).where(t.agent_id == agent_id)
    if since is not None:
        stmt = stmt.where(t.snapshot_timestamp >= since)
    if until is not None:
        stmt = stmt.where(t.snapshot_timestamp < until)
    return _rows(session, stmt.order_by(t.snapshot_timestamp, t.wallet_address).limit(limit))


def price_history(session: Session, token_address: str, *, since: datetime | None,
                  until: datetime | None, limit: int) -> list[dict[str, Any]]:
    """A token's observed prices, newest first (market data: every reader sees it)."""
    t = m.TokenPrice
    stmt = select(t.observed_at, t.price_sol, t.price_usd, t.source).where(
        t.token_address == token_address)
    if since is not None:
        stmt = stmt.where(t.observed_at >= since)
    if until is not None:
        stmt = stmt.where(t.observed_at < until)
    return _rows(session, stmt.order_by(t.observed_at.desc(), t.id.desc()).limit(limit))
