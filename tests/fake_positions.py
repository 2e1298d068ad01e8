"""The fake position and closed-trade (history) repositories over the fake database
(``tests/fake_store.py``), with the schema's rules a handler could trip over."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from domain.bands import Band, BandWrite, Candidate
from domain.ledger import ClosedTrade
from domain.positions import Position
from domain.records import StopChange
from tests.fake_store import Repo, UniqueViolation


class FakePositions(Repo):
    def add(self, position: Position) -> None:
        key = (position.agent_id, position.wallet_address, position.token_address)
        if position.id in self.s.positions or any(
                (p.agent_id, p.wallet_address, p.token_address) == key
                for p in self.s.positions.values()):
            raise UniqueViolation(f"position {key}")
        self.s.positions[position.id] = position

    def update(self, position: Position) -> None:
        if position.id in self.s.positions:
            self.s.positions[position.id] = position

    def delete(self, position_id: uuid.UUID) -> None:
        self.s.positions.pop(position_id, None)

    def get(self, position_id: uuid.UUID, *, for_update: bool = False) -> Position | None:
        return self.s.positions.get(position_id)

    def find_open(self, agent_id: uuid.UUID, wallet_address: str, token_address: str, *,
                  for_update: bool = False) -> Position | None:
        return next((p for p in self.s.positions.values()
                     if (p.agent_id, p.wallet_address, p.token_address)
                     == (agent_id, wallet_address, token_address)), None)

    def count_open(self, agent_id: uuid.UUID, wallet_address: str) -> int:
        return sum((p.agent_id, p.wallet_address) == (agent_id, wallet_address)
                   for p in self.s.positions.values())

    def list_open(self, agent_id: uuid.UUID | None = None,
                  token_addresses: Iterable[str] | None = None) -> list[Position]:
        tokens = None if token_addresses is None else set(token_addresses)
        return sorted((p for p in self.s.positions.values()
                       if agent_id in (None, p.agent_id)
                       and (tokens is None or p.token_address in tokens)),
                      key=lambda p: p.created_at)

    def open_tokens(self) -> list[str]:
        return sorted({p.token_address for p in self.s.positions.values()})

    def update_stops(self, changes: Sequence[StopChange], now: datetime) -> None:
        """Monotonic, as the SQL's GREATEST (which ignores NULL)."""
        for pid, peak, stop in changes:
            p = self.s.positions.get(pid)
            if p is not None:
                self.s.positions[pid] = dataclasses.replace(
                    p, peak_price=_greatest(p.peak_price, peak),
                    current_stop_loss_percentage=_greatest(p.current_stop_loss_percentage, stop),
                    last_stop_loss_update=now, updated_at=now)


    def _version(self, position: Position) -> int:
        """The fake's row version: the position's value itself (any write changes it)."""
        return hash(position)

    def _band_valid(self, position: Position, basis: int) -> Band | None:
        stored = self.s.bands.get(position.id)
        agent = self.s.agents.get(position.agent_id)
        if stored is None or agent is None:
            return None
        at, config, at_basis, band = stored
        return band if (at, config, at_basis) == (position, agent[1], basis) else None

    def sweep_candidates(self, prices: Mapping[str, Decimal], now: datetime,
                         basis: int) -> list[Candidate]:
        out = []
        for p in self.list_open(token_addresses=prices):
            band = self._band_valid(p, basis)
            if band is None or not band.holds(prices[p.token_address], now):
                out.append(Candidate(p, self._version(p), band is not None))
        return out

    def save_sweep(self, stops: Sequence[StopChange], bands: Sequence[BandWrite],
                   now: datetime, basis: int) -> None:
        """As the SQL: a band only for the row it was computed from (after the stop change,
        when the row ends up as computed)."""
        by_id = {b.position_id: b for b in bands}
        read = {pid: self.s.positions.get(pid) for pid in by_id}
        self.update_stops(stops, now)
        changed = {pid: (peak, stop) for pid, peak, stop in stops}
        for pid, write in by_id.items():
            before, row = read[pid], self.s.positions.get(pid)
            if before is None or row is None or self._version(before) != write.version:
                continue
            if pid in changed and (row.peak_price, row.current_stop_loss_percentage) \
                    != changed[pid]:
                continue
            self.s.bands[pid] = (row, self.s.agents[row.agent_id][1], basis, write.band)


def _greatest(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    values = [v for v in (a, b) if v is not None]
    return max(values) if values else None


class FakeHistory(Repo):
    def add(self, trade: ClosedTrade) -> None:
        self.s.history.append(trade)

    def for_agent(self, agent_id: uuid.UUID) -> list[ClosedTrade]:
        return sorted((h for h in self.s.history if h.agent_id == agent_id),
                      key=lambda h: h.sale_time)
