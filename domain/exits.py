"""What to do with an open position at one fresh price (docs/rules.md §10 order): stop loss, take
profit, stale trade, then DCA. An exit stops the rest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain import dca, stop_loss, take_profit
from domain.config import TradingConfig
from domain.durations import at_least, minutes
from domain.money import change_percent, in_context
from domain.positions import Position

STOP_LOSS = "stop_loss"
TAKE_PROFIT = "take_profit"
STALE_TRADE = "stale_trade"
SIGNAL = "signal"
MANUAL = "manual"
BURN = "burn"
CLOSE_REASONS = (STOP_LOSS, TAKE_PROFIT, STALE_TRADE, SIGNAL, MANUAL, BURN)


@dataclass(frozen=True)
class Hold:
    """Nothing to do at this price."""


@dataclass(frozen=True)
class Exit:
    """Sell ``amount`` tokens for ``reason``. ``closes`` is false only for a partial
    take-profit sale (the position stays open)."""

    reason: str
    amount: Decimal
    closes: bool = True


@dataclass(frozen=True)
class Tick:
    """The full outcome of one price for one position: the stop-loss state to persist (when
    ``stop_loss.changed``) and one action."""

    stop_loss: stop_loss.StopLossDecision
    action: Exit | take_profit.TakeProfitDecision | dca.DcaDecision | Hold


@in_context
def is_stale(position: Position, price: Decimal, config: TradingConfig, now: datetime) -> bool:
    """Held at least ``minHoldTimeMinutes`` (from ``created_at``, DCA or not) with a gain
    within [minProfitPercent, maxProfitPercent], both inclusive."""
    stale = config.stale_trade
    if not stale.enabled:
        return False
    if not at_least(now - position.created_at, minutes(stale.min_hold_time_minutes)):
        return False
    gain = change_percent(price, position.purchase_price)
    return stale.min_profit_percent <= gain <= stale.max_profit_percent


def decide_exit(
    position: Position, price: Decimal, config: TradingConfig, now: datetime
) -> Hold | Exit:
    """The first exit in the order of docs/rules.md §10 (stop loss, take profit, stale trade), else
    Hold. A take-profit exit carries the sale amount (``closes`` only when nothing would remain)."""
    action = evaluate_tick(position, price, config, now).action
    if isinstance(action, Exit):
        return action
    if isinstance(action, take_profit.TakeProfitDecision):
        return Exit(TAKE_PROFIT, action.sell_amount, action.close_position)
    return Hold()


def evaluate_tick(
    position: Position, price: Decimal, config: TradingConfig, now: datetime
) -> Tick:
    """Stop loss, take profit, stale trade, DCA, in that order; the first that acts wins."""
    stop = stop_loss.evaluate(position, price, config)
    if stop.triggered:
        return Tick(stop, Exit(STOP_LOSS, position.holding))
    sale = take_profit.evaluate(position, price, config)
    if sale.execute:
        return Tick(stop, sale)
    if is_stale(position, price, config, now):
        return Tick(stop, Exit(STALE_TRADE, position.holding))
    buy = dca.evaluate(position, price, config, now)
    return Tick(stop, buy if buy.triggered else Hold())
