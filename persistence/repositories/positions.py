"""Open positions and the history of closed ones."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Numeric,
    String,
    Table,
    and_,
    bindparam,
    case,
    column,
    delete,
    false,
    func,
    insert,
    not_,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from domain.bands import BandWrite, Candidate
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

    def sweep_candidates(self, prices: Mapping[str, Decimal], now: datetime,
                         basis: int) -> Sequence[Candidate]:
        if not prices:
            return []
        p = m.AgentPosition
        q = func.unnest(bindparam("q_tokens", list(prices), type_=ARRAY(String)),
                        bindparam("q_prices", list(prices.values()), type_=ARRAY(Numeric())),
                        ).table_valued(column("token", String), column("price", Numeric())
                                       ).render_derived(name="q")
        price = q.c.price
        valid = and_(p.band_version == p.version, p.band_basis == basis)
        holds = and_(valid, p.band_low < price,
                     or_(p.band_high.is_(None), price < p.band_high),
                     or_(p.band_peak.is_(None), price <= p.band_peak),
                     or_(p.band_until.is_(None), p.band_until > now,
                         price < p.band_stale_low, price > p.band_stale_high))
        # LATERAL: one index scan of each token's positions, whatever the statistics say
        # (a hash join over every position per chunk is what a ratchet's dead rows invite)
        found = (select(*_POSITION_COLUMNS, p.version,
                        func.coalesce(valid, false()).label("band_valid"))
                 .where(p.token_address == q.c.token, not_(func.coalesce(holds, false())))
                 .lateral("found"))
        stmt = select(found).select_from(q).join(found, true()).order_by(found.c.created_at)
        out = []
        for row in self._s.execute(stmt):
            values = row._asdict()
            version, band_valid = values.pop("version"), values.pop("band_valid")
            out.append(Candidate(Position(**values), version, band_valid))
        return out

    def save_sweep(self, stops: Sequence[StopChange], bands: Sequence[BandWrite],
                   now: datetime, basis: int) -> None:
        """One statement over every row in id order (two overlapping sweeps lock alike, so
        they cannot deadlock). A stop row: the monotonic stop change, version + 1, and its
        band valid only if the row was at the band's version and ends up as computed. A
        band-only row: the band, only where the row is still at the band's version (writing
        band_version keeps the trigger of migration 0010 from adding to the version)."""
        if not stops and not bands:
            return
        by_id = {b.position_id: b for b in bands}
        rows = [_stop_row(pid, peak, stop, by_id.pop(pid, None)) for pid, peak, stop in stops]
        rows += [_stop_row(b.position_id, None, None, b, ratchet=False) for b in by_id.values()]
        rows.sort(key=lambda r: r["b_id"])
        self._s.execute(_save_sweep_statement(now, basis), rows)


def _stop_row(position_id: uuid.UUID, peak: Decimal | None, stop: Decimal | None,
              band: BandWrite | None, *, ratchet: bool = True) -> dict[str, Any]:
    b = None if band is None else band.band
    return {"b_id": position_id, "b_ratchet": ratchet, "b_peak": peak, "b_stop": stop,
            "b_v": -1 if band is None else band.version,
            "b_low": None if b is None else b.low, "b_high": None if b is None else b.high,
            "b_bpeak": None if b is None else b.peak, "b_until": None if b is None else b.until,
            "b_slow": None if b is None else b.stale_low,
            "b_shigh": None if b is None else b.stale_high}


def _save_sweep_statement(now: datetime, basis: int) -> Any:
    t = m.AgentPosition.__table__
    assert isinstance(t, Table)
    ratchet = bindparam("b_ratchet", type_=Boolean)
    version = bindparam("b_v", type_=t.c.version.type)
    peak = func.greatest(t.c.peak_price, bindparam("b_peak", type_=t.c.peak_price.type))
    stop = func.greatest(t.c.current_stop_loss_percentage,
                         bindparam("b_stop", type_=t.c.current_stop_loss_percentage.type))

    def when_ratchet(changed: Any, kept: Any) -> ColumnElement[Any]:
        return case((ratchet, changed), else_=kept)

    as_computed = and_(t.c.version == version,
                       peak.is_not_distinct_from(bindparam("b_peak")),
                       stop.is_not_distinct_from(bindparam("b_stop")))
    return update(t).where(t.c.id == bindparam("b_id"),
                           or_(ratchet, t.c.version == version)).values(
        peak_price=when_ratchet(peak, t.c.peak_price),
        current_stop_loss_percentage=when_ratchet(stop, t.c.current_stop_loss_percentage),
        last_stop_loss_update=when_ratchet(now, t.c.last_stop_loss_update),
        updated_at=when_ratchet(now, t.c.updated_at),
        version=t.c.version + when_ratchet(1, 0),
        band_version=when_ratchet(case((as_computed, t.c.version + 1), else_=None), t.c.version),
        band_basis=basis,
        band_low=bindparam("b_low", type_=t.c.band_low.type),
        band_high=bindparam("b_high", type_=t.c.band_high.type),
        band_peak=bindparam("b_bpeak", type_=t.c.band_peak.type),
        band_until=bindparam("b_until", type_=t.c.band_until.type),
        band_stale_low=bindparam("b_slow", type_=t.c.band_stale_low.type),
        band_stale_high=bindparam("b_shigh", type_=t.c.band_stale_high.type))




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
