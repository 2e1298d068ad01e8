"""Dollar-cost averaging into an open position (docs/rules.md §6)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.config import DcaLevel, TradingConfig, dca_levels
from domain.durations import at_least
from domain.errors import InvalidInput
from domain.money import HUNDRED, ZERO, change_percent, in_context, price, sol, sol_down
from domain.positions import Position

DCA_DISABLED = "dca_disabled"
ONLY_MOON_BAG = "only_moon_bag"
MAX_DCA_COUNT = "max_dca_count"
COOLDOWN = "cooldown"
NO_LEVELS = "no_levels"
LEVELS_EXHAUSTED = "levels_exhausted"
DROP_NOT_REACHED = "drop_not_reached"
# A level whose buy rounds down to 0 SOL (a dust holding) buys nothing (docs/rules.md §6).
AMOUNT_TOO_SMALL = "amount_too_small"
TRIGGERED = "triggered"


@dataclass(frozen=True)
class DcaDecision:
    """Whether to buy more, which level fired (``level_index`` = the position's dca_count),
    how much SOL to spend (rounded down), or the reason not to."""

    triggered: bool
    level: DcaLevel | None
    buy_amount_sol: Decimal
    reason: str
    level_index: int | None = None


def _skip(reason: str, level: DcaLevel | None = None, index: int | None = None) -> DcaDecision:
    return DcaDecision(False, level, ZERO, reason, index)


def _blocked(position: Position, config: TradingConfig, now: datetime) -> str | None:
    dca = config.dca
    if not dca.enabled:
        return DCA_DISABLED
    if position.only_moon_bag:
        return ONLY_MOON_BAG
    if position.dca_count >= dca.max_dca_count:
        return MAX_DCA_COUNT
    last = position.last_dca_time
    if last is not None and not at_least(now - last, dca.cooldown_seconds):
        return COOLDOWN
    return None


@in_context
def evaluate(
    position: Position, price_now: Decimal, config: TradingConfig, now: datetime
) -> DcaDecision:
    """The first failing rule of docs/rules.md §6 stops; the level at index ``dca_count`` triggers
    when the change from the average is at or below its drop %."""
    blocked = _blocked(position, config, now)
    if blocked is not None:
        return _skip(blocked)
    levels = dca_levels(config)
    if not levels:
        return _skip(NO_LEVELS)
    index = position.dca_count
    if index >= len(levels):
        return _skip(LEVELS_EXHAUSTED)
    level = levels[index]
    if change_percent(price_now, position.purchase_price) > level.drop_percent:
        return _skip(DROP_NOT_REACHED, level, index)
    amount = sol_down(price_now * position.holding * level.buy_percent / HUNDRED)
    if amount <= 0:
        return _skip(AMOUNT_TOO_SMALL, level, index)
    return DcaDecision(True, level, amount, TRIGGERED, index)


@in_context
def apply_fill(
    position: Position,
    sol_swapped: Decimal,
    tokens: Decimal,
    tp_level_count: int,
    now: datetime,
    fees_sol: Decimal = ZERO,
) -> Position:
    """The position after a DCA buy: the average uses the SOL swapped (fees excluded), the
    invested total the cash debit (fees included); a fresh take-profit ladder starts at the
    levels already hit. Peak, stop % and ``created_at`` are kept."""
    if sol_swapped <= 0 or tokens <= 0:
        raise InvalidInput("fill", "SOL swapped and tokens received must be > 0")
    if fees_sol < 0:
        raise InvalidInput("fees_sol", "must be >= 0")
    old = position
    amount = old.purchase_amount + tokens
    return dataclasses.replace(
        old,
        purchase_price=price((old.purchase_price * old.purchase_amount + sol_swapped) / amount),
        purchase_amount=amount,
        remaining_amount=None if old.remaining_amount is None else old.remaining_amount + tokens,
        total_invested_sol=sol(old.total_invested_sol + sol_swapped + fees_sol),
        dca_count=old.dca_count + 1,
        last_dca_time=now,
        tp_batch_start_level=old.take_profit_levels_hit,
        total_take_profit_levels=old.take_profit_levels_hit + tp_level_count,
        updated_at=now,
    )
