"""The read side for the CLI and reports: plain rows (dicts), no domain rules."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from domain.ledger import SOL_MINT
from persistence import models as m


def _rows(session: Session, stmt: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in session.execute(stmt)]


def agents(session: Session) -> list[dict[str, Any]]:
    sol = (select(func.coalesce(func.sum(m.AgentBalance.balance), 0))
           .where(m.AgentBalance.agent_id == m.Agent.id,
                  m.AgentBalance.token_address == SOL_MINT)
           .scalar_subquery())
    open_positions = (select(func.count()).select_from(m.AgentPosition)
                      .where(m.AgentPosition.agent_id == m.Agent.id).scalar_subquery())
    stmt = select(m.Agent.id, m.Agent.name, m.Agent.trading_mode,
                  sol.label("sol_balance"), open_positions.label("open_positions"),
                  m.Agent.created_at).order_by(m.Agent.created_at)
    return _rows(session, stmt)


def signals(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    s = m.TradingSignal
    stmt = select(s.id, s.token_address, s.symbol, s.signal_type, s.signal_strength, s.source,
                  s.status, s.eligible_agents, s.received_at).order_by(s.id.desc()).limit(limit)
    return _rows(session, stmt)


def signal_by_key(session: Session, namespace: str,
                  idempotency_key: str) -> dict[str, Any] | None:
    """The stored signal with this idempotency key in this channel's namespace (the stream
    ingestor keys a message without one ``stream:<message id>``), or None until stored."""
    s = m.TradingSignal
    rows = _rows(session, select(s.id, s.status, s.eligible_agents)
                 .where(s.idempotency_namespace == namespace,
                        s.idempotency_key == idempotency_key))
    return rows[0] if rows else None


def executions(session: Session, signal_id: int | None = None,
               limit: int = 200) -> list[dict[str, Any]]:
    e = m.SignalExecution
    stmt = (select(e.signal_id, e.agent_id, m.Agent.name.label("agent"), e.status, e.action,
                   e.reason, e.transaction_id, e.executed_at)
            .join(m.Agent, m.Agent.id == e.agent_id)
            .order_by(e.executed_at.desc()).limit(limit))
    if signal_id is not None:
        stmt = stmt.where(e.signal_id == signal_id)
    return _rows(session, stmt)


def positions(session: Session, agent_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    p = m.AgentPosition
    stmt = (select(p.id, p.agent_id, m.Agent.name.label("agent"), p.token_address,
                   p.token_symbol, p.purchase_price,
                   func.coalesce(p.remaining_amount, p.purchase_amount).label("holding"),
                   p.total_invested_sol, p.current_stop_loss_percentage, p.peak_price,
                   p.dca_count, p.take_profit_levels_hit, p.total_take_profit_levels,
                   p.moon_bag_activated, p.moon_bag_amount, p.tokens_left, p.created_at)
            .join(m.Agent, m.Agent.id == p.agent_id).order_by(p.created_at))
    if agent_id is not None:
        stmt = stmt.where(p.agent_id == agent_id)
    return _rows(session, stmt)


def balances(session: Session, agent_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    b = m.AgentBalance
    stmt = (select(b.agent_id, m.Agent.name.label("agent"), b.wallet_address, b.token_address,
                   b.token_symbol, b.balance, b.updated_at)
            .join(m.Agent, m.Agent.id == b.agent_id)
            .order_by(m.Agent.name, b.agent_id, b.token_address))
    if agent_id is not None:
        stmt = stmt.where(b.agent_id == agent_id)
    return _rows(session, stmt)


def closed_trades(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    h = m.AgentHistoricalSwap
    stmt = (select(h.agent_id, m.Agent.name.label("agent"), h.token_symbol, h.token_address,
                   h.close_reason, h.amount, h.purchase_price, h.sale_price, h.profit_loss_sol,
                   h.change_percent, h.sale_time)
            .join(m.Agent, m.Agent.id == h.agent_id)
            .order_by(h.sale_time.desc()).limit(limit))
    return _rows(session, stmt)


def trade_log(session: Session, limit: int = 12) -> list[dict[str, Any]]:
    """The latest ledger swaps: opens, DCAs, take-profit sales and closes."""
    t = m.AgentTransaction
    stmt = (select(t.transaction_time, m.Agent.name.label("agent"), t.input_symbol,
                   t.input_mint, t.input_amount, t.output_symbol, t.output_mint,
                   t.output_amount, t.is_dca, t.is_take_profit)
            .join(m.Agent, m.Agent.id == t.agent_id).where(t.transaction_type == "SWAP")
            .order_by(t.transaction_time.desc()).limit(limit))
    return _rows(session, stmt)


def agent_ids_named(session: Session, name: str) -> list[uuid.UUID]:
    """The agents with this name (unique per user; several users may each have one)."""
    return list(session.execute(select(m.Agent.id).where(m.Agent.name == name)).scalars())


def position_ids_starting(session: Session, prefix: str) -> list[uuid.UUID]:
    """Open positions whose id starts with ``prefix`` (the CLI shows ids cut short)."""
    p = m.AgentPosition
    stmt = select(p.id).where(cast(p.id, String).like(f"{prefix.lower()}%")).limit(2)
    return list(session.execute(stmt).scalars())
