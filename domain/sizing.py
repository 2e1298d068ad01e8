"""How much SOL an opening buy spends (docs/rules.md §3–§5)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from domain.config import SizeRange, TradingConfig
from domain.errors import SizingError
from domain.money import in_context, sol_down

INSUFFICIENT_BALANCE = "insufficient_balance"
BELOW_MINIMUM_BALANCE = "below_minimum_balance"
INSUFFICIENT_BALANCE_FOR_MINIMUM = "insufficient_balance_for_minimum"
INVALID_POSITION_SIZE = "invalid_position_size"
MAX_POSITIONS = "max_positions"
PRICE_IMPACT_TOO_HIGH = "price_impact_too_high"

MAX_OPEN_POSITIONS = 25  # docs/rules.md §3 default; configurable system-wide by the caller
RANDOM_STEPS = 10**8
MIN_RETRY_SIZE = Decimal("0.01")
IMPACT_RETRY_FRACTIONS = (Decimal("0.9"), Decimal("0.8"), Decimal("0.7"))


@dataclass(frozen=True)
class PositionSize:
    size: Decimal
    category: str  # small | medium | large
    randomized: bool


def buy_precheck(
    balance: Decimal, open_positions: int, config: TradingConfig,
    max_positions: int = MAX_OPEN_POSITIONS,
) -> str | None:
    """The balance and position-count checks of docs/rules.md §3 (wallet checks are the caller's);
    returns the first failing reason code, or None."""
    if balance <= 0:
        return INSUFFICIENT_BALANCE
    if balance < config.purchase_limits.minimum_agent_balance:
        return BELOW_MINIMUM_BALANCE
    if open_positions >= max_positions:
        return MAX_POSITIONS
    return None


def category_for(balance: Decimal, config: TradingConfig) -> str:
    thresholds = config.position_calculator.sol_balance_thresholds
    if balance >= thresholds.large:
        return "large"
    if balance >= thresholds.medium:
        return "medium"
    return "small"


@in_context
def position_size(balance: Decimal, config: TradingConfig, rng: random.Random) -> PositionSize:
    """docs/rules.md §4. Raises ``SizingError`` with the reason code when no size is possible."""
    if balance <= 0:
        raise SizingError(INSUFFICIENT_BALANCE)
    calculator = config.position_calculator
    if balance < calculator.sol_balance_thresholds.minimum:
        raise SizingError(BELOW_MINIMUM_BALANCE)
    category = category_for(balance, config)
    bounds: SizeRange = getattr(calculator.position_sizes, category)
    randomized = calculator.randomization.enabled and bounds.min < bounds.max
    size = bounds.max
    if randomized:
        size = bounds.min + (bounds.max - bounds.min) * rng.randrange(RANDOM_STEPS) / RANDOM_STEPS
    cap = config.purchase_limits.max_purchase_per_token
    size = min(size, cap)
    reserve = config.purchase_limits.minimum_agent_balance
    if balance - size < reserve:
        size = balance - reserve
        if size <= 0:
            raise SizingError(INSUFFICIENT_BALANCE_FOR_MINIMUM)
        size = min(size, cap)
    size = sol_down(size)
    if size <= 0 or size > balance:
        raise SizingError(INVALID_POSITION_SIZE)
    return PositionSize(size, category, randomized)


@in_context
def impact_retry_sizes(size: Decimal) -> list[Decimal]:
    """The sizes to quote in turn when the price impact is too high (docs/rules.md §5): the size,
    then 90 %, 80 %, 70 % of it (rounded down), stopping at the first below 0.01 SOL."""
    sizes = [sol_down(size)]
    for fraction in IMPACT_RETRY_FRACTIONS:
        retry = sol_down(size * fraction)
        if retry < MIN_RETRY_SIZE:
            break
        sizes.append(retry)
    return sizes


def impact_acceptable(price_impact: Decimal, config: TradingConfig) -> bool:
    """True when no ``maxPriceImpact`` is set or |impact| (a fraction) is below it."""
    limit = config.purchase_limits.max_price_impact
    return limit is None or abs(price_impact) < limit


__all__ = [
    "BELOW_MINIMUM_BALANCE", "INSUFFICIENT_BALANCE", "INSUFFICIENT_BALANCE_FOR_MINIMUM",
    "INVALID_POSITION_SIZE", "MAX_OPEN_POSITIONS", "MAX_POSITIONS", "PRICE_IMPACT_TOO_HIGH",
    "PositionSize", "buy_precheck", "category_for", "impact_acceptable",
    "impact_retry_sizes", "position_size",
]
