"""Take profit: a ladder of partial sales and the moon bag (docs/rules.md §8)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.config import TakeProfitLevel, TakeProfitPlan, TradingConfig, take_profit_levels
from domain.money import HUNDRED, ZERO, change_percent, in_context, sol, tokens, tokens_down
from domain.pnl import cost_basis
from domain.positions import Position

TAKE_PROFIT = "take_profit"
TP_DISABLED = "tp_disabled"
LEVELS_EXHAUSTED = "levels_exhausted"
BELOW_NEXT_LEVEL = "below_next_level"
ONLY_MOON_BAG = "only_moon_bag"
DUST = Decimal("1e-9")  # docs/rules.md §8: less left than this, and no moon bag, closes


@dataclass(frozen=True)
class TakeProfitDecision:
    """A sale of ``sell_amount`` tokens for ``levels`` (every level reached at once), or the
    reason not to sell. ``moon_bag_amount`` is the reserve kept after the sale;
    ``close_position`` is true when what is left is dust with no moon bag."""

    execute: bool
    levels: tuple[TakeProfitLevel, ...]
    sell_amount: Decimal
    activate_moon_bag: bool
    moon_bag_amount: Decimal | None
    new_remaining: Decimal
    reason: str
    close_position: bool = False


def _hold(position: Position, reason: str) -> TakeProfitDecision:
    return TakeProfitDecision(
        False, (), ZERO, False, position.moon_bag_amount, position.holding, reason
    )


def _reached(position: Position, plan: TakeProfitPlan, total: int, gain: Decimal) -> list[int]:
    """Indexes of the consecutive levels from the next one that ``gain`` reaches."""
    start = position.take_profit_levels_hit - position.tp_batch_start_level
    reached: list[int] = []
    for index in range(max(start, 0), len(plan.levels)):
        within_ladder = position.take_profit_levels_hit + len(reached) < total
        if not within_ladder or gain < plan.levels[index].target_percent:
            break
        reached.append(index)
    return reached


@in_context
def evaluate(position: Position, price_now: Decimal, config: TradingConfig) -> TakeProfitDecision:
    """Collect every level the gain reaches, sell their share of the original amount, keep
    the moon bag (activating it when due) and never sell more than is held."""
    if not config.take_profit.enabled:
        return _hold(position, TP_DISABLED)
    plan = take_profit_levels(config)
    total = position.total_take_profit_levels
    total = len(plan.levels) if total is None else total
    start = position.take_profit_levels_hit - position.tp_batch_start_level
    if position.take_profit_levels_hit >= total or start >= len(plan.levels):
        return _hold(position, LEVELS_EXHAUSTED)
    if position.only_moon_bag:
        return _hold(position, ONLY_MOON_BAG)
    gain = change_percent(price_now, position.purchase_price)
    reached = _reached(position, plan, total, gain)
    if not reached:
        return _hold(position, BELOW_NEXT_LEVEL)
    return _sale(position, plan, gain, reached)


def _sale(
    position: Position, plan: TakeProfitPlan, gain: Decimal, reached: list[int]
) -> TakeProfitDecision:
    original = position.purchase_amount
    activate = (
        plan.moon_bag_enabled
        and not position.moon_bag_activated
        and (gain >= plan.moon_bag_trigger_percent or reached[-1] == len(plan.levels) - 1)
    )
    reserve = position.moon_bag_amount if position.moon_bag_activated else None
    if activate:
        reserve = tokens(original * plan.moon_bag_retain_percent / HUNDRED)
    levels = tuple(plan.levels[i] for i in reached)
    share = sum((level.sell_percent for level in levels), ZERO)
    holding = position.holding
    sell = tokens_down(min(original * share / HUNDRED, holding - (reserve or ZERO)))
    if sell <= 0:
        return _hold(position, ONLY_MOON_BAG)
    left = holding - sell
    closes = left < DUST and not (activate or position.moon_bag_activated)
    if closes:  # sell the dust too: the position closes with this sale
        sell, left = holding, ZERO
    return TakeProfitDecision(True, levels, sell, activate, reserve, left, TAKE_PROFIT, closes)


@in_context
def apply_sale(
    position: Position, decision: TakeProfitDecision, net_proceeds_sol: Decimal, now: datetime
) -> Position:
    """The position after a take-profit sale: levels hit, remaining, moon bag, and the partial
    PnL (net proceeds − sold / purchase_amount × invested) added to ``realized_profit_sol``."""
    if not decision.execute:
        return position
    basis = cost_basis(position.total_invested_sol, position.purchase_amount, decision.sell_amount)
    return dataclasses.replace(
        position,
        take_profit_levels_hit=position.take_profit_levels_hit + len(decision.levels),
        remaining_amount=decision.new_remaining,
        moon_bag_activated=position.moon_bag_activated or decision.activate_moon_bag,
        moon_bag_amount=decision.moon_bag_amount,
        realized_profit_sol=position.realized_profit_sol + sol(net_proceeds_sol - basis),
        updated_at=now,
    )
