"""Open positions and the history of closed ones."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from domain.ledger import ClosedTrade
from domain.positions import Position
from domain.records import StopChange
from persistence import models as m

_POSITION_FIELDS = tuple(f.name for f in fields(Position))
_POSITION_COLUMNS = tuple(getattr(m.AgentPosition, name) for name in _POSITION_FIELDS)


def _position(row: Any) -> Position:
    return Position(**row._asdict())


class PositionRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, position: Position) -> None:
        self._s.execute(insert(m.AgentPosition).values(
            **{name: getattr(position, name) for name in _POSITION_FIELDS}))

    def update(self, position: Position) -> None:
        values = {n: getattr(position, n) for n in _POSITION_FIELDS
                  if n not in ("id", "created_at")}
        self._s.execute(
            update(m.AgentPosition).where(m.AgentPosition.id == position.id).values(**values))

    def delete(self, position_id: uuid.UUID) -> None:
        self._s.execute(delete(m.AgentPosition).where(m.AgentPosition.id == position_id))

    def get(self, position_id: uuid.UUID, *, for_update: bool = False) -> Position | None:
        stmt = select(*_POSITION_COLUMNS).where(m.AgentPosition.id == position_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = self._s.execute(stmt).one_or_none()
        return None if row is None else _position(row)

    def find_open(self, agent_id: uuid.UUID, wallet_address: str, token_address: str,
                  *, for_update: bool = False) -> Position | None:
        stmt = select(*_POSITION_COLUMNS).where(
            m.AgentPosition.agent_id == agent_id,
            m.AgentPosition.wallet_address == wallet_address,
            m.AgentPosition.token_address == token_address,
        )
        if for_update:
            stmt = stmt.with_for_update()
        row = self._s.execute(stmt).one_or_none()
        return None if row is None else _position(row)

    def count_open(self, agent_id: uuid.UUID, wallet_address: str) -> int:
        stmt = select(func.count()).select_from(m.AgentPosition).where(
            m.AgentPosition.agent_id == agent_id, m.AgentPosition.wallet_address == wallet_address)
        return int(self._s.execute(stmt).scalar_one())

    def list_open(self, agent_id: uuid.UUID | None = None,
                  token_addresses: Iterable[str] | None = None) -> Sequence[Position]:
        stmt = select(*_POSITION_COLUMNS).order_by(m.AgentPosition.created_at)
        if agent_id is not None:
            stmt = stmt.where(m.AgentPosition.agent_id == agent_id)
        if token_addresses is not None:
            stmt = stmt.where(m.AgentPosition.token_address.in_(list(token_addresses)))
        return [_position(row) for row in self._s.execute(stmt)]

    def open_tokens(self) -> list[str]:
        """Every token some open position holds (what the price refresh fetches)."""
        stmt = select(m.AgentPosition.token_address).distinct().order_by(
            m.AgentPosition.token_address)
        return list(self._s.execute(stmt).scalars())

    def update_stops(self, changes: Sequence[StopChange], now: datetime) -> None:
        """Persist peak and stop-loss % of many positions in one statement (executemany).
        Monotonic in SQL (GREATEST ignores NULL): an older, overlapping sweep can neither
        lower a peak nor loosen a stop; a position closed meanwhile is simply not updated."""
        if not changes:
            return
        t = m.AgentPosition.__table__
        assert isinstance(t, Table)
        peak = bindparam("b_peak", type_=t.c.peak_price.type)
        stop = bindparam("b_stop", type_=t.c.current_stop_loss_percentage.type)
        stmt = update(t).where(t.c.id == bindparam("b_id")).values(
            peak_price=func.greatest(t.c.peak_price, peak),
            current_stop_loss_percentage=func.greatest(t.c.current_stop_loss_percentage, stop),
            last_stop_loss_update=now, updated_at=now)
        rows = [{"b_id": pid, "b_peak": peak, "b_stop": stop}
                for pid, peak, stop in sorted(changes, key=lambda c: c[0])]
        self._s.execute(stmt, rows)




class HistoryRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, trade: ClosedTrade) -> None:
        self._s.execute(insert(m.AgentHistoricalSwap).values(
            **{f.name: getattr(trade, f.name) for f in fields(ClosedTrade)}))

    def for_agent(self, agent_id: uuid.UUID) -> Sequence[ClosedTrade]:
        columns = [getattr(m.AgentHistoricalSwap, f.name) for f in fields(ClosedTrade)]
        stmt = (select(*columns).where(m.AgentHistoricalSwap.agent_id == agent_id)
                .order_by(m.AgentHistoricalSwap.sale_time))
        return [ClosedTrade(**row._asdict()) for row in self._s.execute(stmt)]
