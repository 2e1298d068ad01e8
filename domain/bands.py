"""The quiet band of a token (docs/rules.md §6–§10): the prices strictly between ``low`` and
``high`` at which none of its open positions can stop out, take profit, go stale, DCA or
ratchet its stop, until ``until``. A sweep whose price stays inside touches no position.

Per position: the stop price (a price at or below it exits), the stored peak when the stop
loss tracks it (a price above it moves the peak and may ratchet the stop), the next
take-profit level's price, the next DCA level's price (its cooldown is ignored: it may end at
any time) and the time it becomes old enough to go stale (no band after that). The bounds
are narrowed by a relative hair so no rounding of the gain can fall on the wrong side."""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import domain
from domain import stop_loss
from domain.config import TradingConfig, dca_levels, take_profit_levels
from domain.durations import minutes
from domain.money import HUNDRED, ZERO, in_context
from domain.positions import Position

HAIR = Decimal("1e-20")
_T = TypeVar("_T", Decimal, datetime)
_CENTURY = timedelta(days=36525)


@dataclass(frozen=True)
class Band:
    low: Decimal  # exclusive; 0 when nothing triggers below
    high: Decimal | None  # exclusive (the next take-profit price); None: nothing above
    peak: Decimal | None  # inclusive: a higher price moves a tracked peak; None: untracked
    until: datetime | None  # old enough to go stale from this time; None: never
    # From ``until`` on, the band holds only outside the prices whose gain is inside the
    # stale window (both exclusive); None: nowhere once ``until`` is reached.
    stale_low: Decimal | None = None
    stale_high: Decimal | None = None

    def holds(self, price: Decimal, now: datetime) -> bool:
        return (self.low < price and (self.high is None or price < self.high)
                and (self.peak is None or price <= self.peak)
                and (self.until is None or now < self.until or self._not_stale(price)))

    def _not_stale(self, price: Decimal) -> bool:
        return (self.stale_low is not None and self.stale_high is not None
                and (price < self.stale_low or price > self.stale_high))


@dataclass(frozen=True)
class Candidate:
    """An open position a sweep must evaluate, with the row version it was read at and
    whether its stored band is still valid (then only the price left it)."""

    position: Position
    version: int
    band_valid: bool


@dataclass(frozen=True)
class BandWrite:
    """A band to store for a position read at ``version``. Beside a stop change it is the
    band of the position after that change, stored only if the row ends up as computed."""

    position_id: uuid.UUID
    version: int
    band: Band


# The rules a band is computed with: a stored band from other rules or defaults is invalid.
_RULES = ("bands", "config", "config_fields", "config_sections", "dca", "durations", "exits",
          "money", "positions", "stop_loss", "take_profit")


@functools.cache
def basis() -> int:
    """A 63-bit fingerprint of the rule modules' source (the default config is in them):
    a deployment that changes how a position triggers invalidates every stored band."""
    digest = hashlib.sha256()
    folder = Path(domain.__file__).parent
    for name in _RULES:
        digest.update((folder / f"{name}.py").read_bytes())
    return int.from_bytes(digest.digest()[:8], "big") >> 1


def _at_gain(avg: Decimal, gain_percent: Decimal) -> Decimal:
    return avg * (1 + gain_percent / HUNDRED)


def _stale_from(position: Position, config: TradingConfig) -> datetime | None:
    """The first time the position may be old enough to go stale (rounded down to the
    microsecond, at most a century ahead: earlier is always safe)."""
    if not config.stale_trade.enabled:
        return None
    micros = int(minutes(config.stale_trade.min_hold_time_minutes) * 1_000_000)
    try:
        return position.created_at + min(timedelta(microseconds=micros), _CENTURY)
    except OverflowError:  # past year 9999: no clock reaches it
        return None


def _take_profit_at(position: Position, config: TradingConfig) -> Decimal | None:
    """The price at or above which the next take-profit level sells."""
    plan = take_profit_levels(config)
    start = position.take_profit_levels_hit - position.tp_batch_start_level
    if not config.take_profit.enabled or not 0 <= start < len(plan.levels):
        return None
    return _at_gain(position.purchase_price, plan.levels[start].target_percent)


def _lower(position: Position, config: TradingConfig) -> Decimal | None:
    """The highest price at or below which the position exits or buys; None: the stop
    must be written whatever the price (no band)."""
    lows = [ZERO]
    if config.stop_loss.enabled:
        if position.peak_price is None or position.current_stop_loss_percentage is None:
            return None
        stop = stop_loss.evaluate(position, position.peak_price, config)
        if stop.changed or stop.stop_price is None:
            return None
        lows.append(stop.stop_price)
    levels = dca_levels(config)
    if config.dca.enabled and position.dca_count < min(config.dca.max_dca_count, len(levels)):
        lows.append(_at_gain(position.purchase_price, levels[position.dca_count].drop_percent))
    return max(lows)


@in_context
def position_band(position: Position, config: TradingConfig) -> Band | None:
    """The band of one position, or None when it has none (it must be evaluated)."""
    low, high = _lower(position, config), _take_profit_at(position, config)
    if low is None:
        return None
    peak = position.peak_price if config.stop_loss.enabled else None
    until = _stale_from(position, config)
    stale_low, stale_high = _stale_window(position, config) if until else (None, None)
    return Band(low * (1 + HAIR), None if high is None else high * (1 - HAIR), peak, until,
                stale_low, stale_high)


def _stale_window(position: Position, config: TradingConfig
                  ) -> tuple[Decimal | None, Decimal | None]:
    """The prices at which an old enough position goes stale (its gain within
    [minProfitPercent, maxProfitPercent]), widened by a hair; none for a purchase price
    that is not positive (its gain reads 0 % at every price)."""
    avg, stale = position.purchase_price, config.stale_trade
    if avg <= 0:
        return None, None
    return (_at_gain(avg, stale.min_profit_percent) * (1 - HAIR),
            _at_gain(avg, stale.max_profit_percent) * (1 + HAIR))


def _least(a: _T | None, b: _T | None) -> _T | None:
    return b if a is None else a if b is None else min(a, b)


@in_context
def token_band(bands: Iterable[Band | None]) -> Band | None:
    """The intersection of the positions' bands (None when any position has none); from the
    first ``until`` on, outside the hull of their stale windows."""
    low, high, peak, until = ZERO, None, None, None
    stale: list[Band] = []
    for band in bands:
        if band is None:
            return None
        low, high = max(low, band.low), _least(high, band.high)
        peak, until = _least(peak, band.peak), _least(until, band.until)
        if band.until is not None:
            stale.append(band)
    lows = [b.stale_low for b in stale if b.stale_low is not None]
    highs = [b.stale_high for b in stale if b.stale_high is not None]
    if not stale or len(lows) < len(stale) or len(highs) < len(stale):
        return Band(low, high, peak, until)
    return Band(low, high, peak, until, min(lows), max(highs))  # the windows' hull
