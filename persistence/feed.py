"""The latest signals and executions, newest first, for the dashboard's feeds and its live
events. Plain rows (dicts), no domain rules.

Tenancy as in :mod:`persistence.views`: ``user_id`` keeps the signals that are that user's or
that reached one of that user's agents, and only that user's agents' executions; ``None``
means every user (an ``admin`` key).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from persistence import models as m
from persistence.views import _mine, _rows


def signals(session: Session, user_id: uuid.UUID | None, limit: int = 50) -> list[dict[str, Any]]:
    s, e = m.TradingSignal, m.SignalExecution
    stmt = select(s.id, s.token_address, s.symbol, s.signal_type, s.signal_strength, s.source,
                  s.status, s.eligible_agents, s.received_at)
    if user_id is not None:
        reached = (select(e.id).join(m.Agent, m.Agent.id == e.agent_id)
                   .where(e.signal_id == s.id, m.Agent.user_id == user_id))
        stmt = stmt.where(or_(s.user_id == user_id, exists(reached)))
    return _rows(session, stmt.order_by(s.id.desc()).limit(limit))


def executions(session: Session, user_id: uuid.UUID | None, *, signal_ids: list[int] | None = None,
               agent_id: uuid.UUID | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Executions with their agent's name and the signal's token, newest first."""
    e, s = m.SignalExecution, m.TradingSignal
    stmt = (select(e.id, e.signal_id, e.agent_id, m.Agent.name.label("agent_name"), e.status,
                   e.action, e.reason, e.transaction_id, e.executed_at, s.token_address,
                   s.symbol, s.signal_type)
            .join(m.Agent, m.Agent.id == e.agent_id).join(s, s.id == e.signal_id))
    if signal_ids is not None:
        stmt = stmt.where(e.signal_id.in_(signal_ids))
    if agent_id is not None:
        stmt = stmt.where(e.agent_id == agent_id)
    return _rows(session, _mine(stmt, user_id).order_by(e.executed_at.desc(), e.id).limit(limit))
