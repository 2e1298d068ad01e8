"""What the metrics read from the database at scrape time: small aggregate queries, each one
statement. Plain values, no domain rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from persistence import models as m


@dataclass(frozen=True)
class Holding:
    token_address: str
    wallet_type: str  # simulation / live
    positions: int
    tokens: Decimal  # Σ holding (remaining ?? purchase amount)
    cost_sol: Decimal  # Σ cost basis of what is still held


def holdings(session: Session) -> list[Holding]:
    """Open positions per token and wallet type, with the tokens and cost basis held."""
    p, w = m.AgentPosition, m.AgentWallet
    held = func.coalesce(p.remaining_amount, p.purchase_amount)
    basis = case((p.purchase_amount > 0, p.total_invested_sol * held / p.purchase_amount),
                 else_=0)
    stmt = (select(p.token_address, w.wallet_type, func.count(), func.sum(held), func.sum(basis))
            .join(w, w.wallet_address == p.wallet_address)
            .group_by(p.token_address, w.wallet_type))
    return [Holding(token, kind, int(n), Decimal(tokens or 0), Decimal(cost or 0))
            for token, kind, n, tokens, cost in session.execute(stmt)]


def swaps_by_state(session: Session) -> dict[str, int]:
    s = m.SwapSubmission
    stmt = select(s.status, func.count()).group_by(s.status)
    return {status: int(n) for status, n in session.execute(stmt)}


def reconciler_backlog(session: Session, now: datetime, submitted_idle: timedelta,
                       intent_grace: timedelta) -> int:
    """Live swaps the reconciler has to settle: submitted and idle past its wait, or an
    intent never signed past its grace."""
    s = m.SwapSubmission
    stmt = select(func.count()).where(or_(
        and_(s.status == "submitted", s.updated_at < now - submitted_idle),
        and_(s.status == "intent", s.updated_at < now - intent_grace)))
    return int(session.execute(stmt).scalar_one())


def unfinished_signals(session: Session, now: datetime, grace: timedelta) -> int:
    """Signals still pending or dispatched after the grace period (the outbox backlog)."""
    t = m.TradingSignal
    stmt = select(func.count()).where(t.status.in_(("pending", "dispatched")),
                                      t.received_at < now - grace)
    return int(session.execute(stmt).scalar_one())


def received_at(session: Session, signal_ids: Sequence[int]) -> dict[int, datetime]:
    t = m.TradingSignal
    stmt = select(t.id, t.received_at).where(t.id.in_(list(signal_ids)))
    return {int(i): at for i, at in session.execute(stmt)}
