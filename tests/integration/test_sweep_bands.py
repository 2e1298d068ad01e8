"""The quiet bands the sweep stores (migration 0010) on real PostgreSQL: a position is a
sweep candidate unless its stored band was computed for the row as it is now, for the
agent's config as it is now and for these rules, and the price and the time stay inside it.
Validity is the database's: every other write, a config change, a band computed from an
older read and a band past its stale time all make the position a candidate again."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from domain.bands import Band, BandWrite, Candidate, basis, position_band
from domain.config import TradingConfig
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.integration.test_position_jobs_repositories import OTHER, _position
from tests.integration.test_repositories import MINT, NOW

CONFIG_JSON: dict[str, object] = {"takeProfit": {"enabled": True}, "staleTrade": {
    "enabled": True, "minHoldTimeMinutes": 60, "minProfitPercent": -10, "maxProfitPercent": -5}}
CONFIG = TradingConfig.from_dict(CONFIG_JSON)
AVG = Decimal("0.001")  # _position's purchase price
BASIS = basis()


@pytest.fixture
def puow(clean_db: Engine) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(make_session_factory(clean_db))


def candidates(puow: SqlAlchemyUnitOfWork, price: Decimal = AVG, *, now: object = NOW,
               rules: int = BASIS) -> dict[uuid.UUID, Candidate]:
    with puow:
        found = puow.positions.sweep_candidates({MINT: price, OTHER: price}, now, rules)
    return {c.position.id: c for c in found}  # type: ignore[arg-type]


def store_band(puow: SqlAlchemyUnitOfWork, position_id: uuid.UUID) -> Band:
    """What a sweep does for a position it holds whose band is not valid."""
    c = candidates(puow)[position_id]
    band = position_band(c.position, CONFIG)
    assert band is not None
    with puow:
        puow.positions.save_sweep([], [BandWrite(position_id, c.version, band)], NOW, BASIS)
        puow.commit()
    return band


def opened(puow: SqlAlchemyUnitOfWork, token: str = MINT) -> uuid.UUID:
    with puow:
        pid = _position(puow, token)
        position = puow.positions.get(pid)
        assert position is not None
        puow.agents.set_config(position.agent_id, CONFIG_JSON)
        puow.commit()
    return pid


def test_a_stored_band_keeps_the_position_out_until_price_or_time_leaves_it(
        puow: SqlAlchemyUnitOfWork) -> None:
    pid = opened(puow)
    assert candidates(puow)[pid].band_valid is False  # a new position has no band
    band = store_band(puow, pid)
    assert band.until is not None and band.high is not None and band.peak == AVG
    assert pid not in candidates(puow)
    assert pid not in candidates(puow, band.low * Decimal("1.000001"))
    for price in (band.low, band.high, band.peak * Decimal("1.000001")):  # out: evaluate
        assert candidates(puow, price)[pid].band_valid is True
    stale = AVG * Decimal("0.93")  # a 7 % loss: inside the stale window (-10 % to -5 %)
    assert pid not in candidates(puow, stale, now=band.until - timedelta(microseconds=1))
    assert candidates(puow, stale, now=band.until)[pid].band_valid is True  # stale check due
    assert pid not in candidates(puow, now=band.until)  # old enough, but 0 % is not stale
    assert pid not in candidates(puow, AVG * Decimal("0.85"), now=band.until)
    assert candidates(puow, rules=BASIS + 1)[pid].band_valid is False  # other rules


@pytest.mark.parametrize("write", ["update", "update_stops", "raw", "config"])
def test_every_other_write_makes_the_band_invalid(puow: SqlAlchemyUnitOfWork,
                                                  write: str) -> None:
    pid, bystander = opened(puow), opened(puow, OTHER)
    store_band(puow, pid)
    store_band(puow, bystander)
    with puow:
        position = puow.positions.get(pid)
        assert position is not None
        if write == "update":  # even a write that changes no value
            puow.positions.update(position)
        elif write == "update_stops":
            puow.positions.update_stops([(pid, position.peak_price, Decimal(-10))], NOW)
        elif write == "raw":
            puow.session.execute(text("UPDATE agent_positions SET dca_count = 0 WHERE id = :i"),
                                 {"i": pid})
        else:
            puow.agents.set_config(position.agent_id, {"stopLoss": {"defaultPercentage": -5}})
        puow.commit()
    found = candidates(puow)
    assert found[pid].band_valid is False
    assert bystander not in found


def test_a_band_computed_from_an_older_read_is_not_stored(puow: SqlAlchemyUnitOfWork) -> None:
    pid = opened(puow)
    read = candidates(puow)[pid]
    with puow:  # a signal's DCA lands between the sweep's read and its write
        puow.positions.update(dataclasses.replace(read.position, dca_count=1))
        puow.commit()
    band = position_band(read.position, CONFIG)
    assert band is not None
    with puow:
        puow.positions.save_sweep([], [BandWrite(pid, read.version, band)], NOW, BASIS)
        puow.commit()
    assert candidates(puow)[pid].band_valid is False


def test_a_config_change_rolled_back_keeps_the_band(puow: SqlAlchemyUnitOfWork) -> None:
    pid = opened(puow)
    store_band(puow, pid)
    with puow:
        position = puow.positions.get(pid)
        assert position is not None
        puow.agents.set_config(position.agent_id, {"stopLoss": {"defaultPercentage": -5}})
    assert pid not in candidates(puow)


def test_a_ratchet_stores_the_band_after_it_only_if_the_row_ends_as_computed(
        puow: SqlAlchemyUnitOfWork) -> None:
    mine, raced = opened(puow), opened(puow, OTHER)
    high = AVG * Decimal("1.5")
    with puow:  # an overlapping sweep already wrote a higher peak for `raced`
        puow.positions.update_stops([(raced, AVG * 2, Decimal(40))], NOW)
        puow.commit()
    found = candidates(puow, high)
    writes, stops = [], []
    for pid in (mine, raced):
        c = found[pid]
        after = dataclasses.replace(c.position, peak_price=high,
                                    current_stop_loss_percentage=Decimal(40))
        band = position_band(after, CONFIG)
        assert band is not None
        stops.append((pid, high, Decimal(40)))
        writes.append(BandWrite(pid, c.version, band))
    with puow:
        puow.positions.save_sweep(stops, writes, NOW, BASIS)
        puow.commit()
    with puow:
        rows = {p.id: p for p in puow.positions.list_open()}
    assert (rows[mine].peak_price, rows[mine].current_stop_loss_percentage) == (high, 40)
    assert rows[raced].peak_price == AVG * 2  # monotonic: the older sweep did not lower it
    band = writes[0].band
    assert band.high is not None
    inside = (band.low + band.high) / 2
    after = candidates(puow, inside)
    assert mine not in after  # its band after the ratchet is stored and holds
    assert after[raced].band_valid is False  # the row is not what the band was computed for

