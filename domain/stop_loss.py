"""The trailing stop loss (docs/rules.md §7): four modes map the peak gain to a stop percentage,
and a ratchet that never loosens it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.config import StopLossConfig, TradingConfig
from domain.money import HUNDRED, PERCENT_MAX, ZERO, change_percent, in_context, percent, price
from domain.positions import Position

STOP_LOSS = "stop_loss"
_TWENTY = Decimal("20")
_ZONES = (  # (upper bound of g, inclusive; share of the gain kept)
    (Decimal("25"), Decimal("0.50")),
    (Decimal("50"), Decimal("0.60")),
    (Decimal("100"), Decimal("0.70")),
    (Decimal("200"), Decimal("0.80")),
)
_ZONE_TOP = Decimal("0.85")
_KEEP_MAX = Decimal("0.90")


@dataclass(frozen=True)
class StopLossDecision:
    """The stop after one price. ``stop_loss_percent``/``stop_price`` are None only when the
    stop loss is disabled; ``changed`` says whether peak or stop % must be persisted."""

    triggered: bool
    stop_loss_percent: Decimal | None
    stop_price: Decimal | None
    peak_price: Decimal | None
    changed: bool


@in_context
def target_percentage(peak_gain_percent: Decimal, stop_loss_config: StopLossConfig) -> Decimal:
    """The stop % (relative to the average price) the mode gives for a peak gain ``g`` (%)."""
    g, cfg = peak_gain_percent, stop_loss_config
    default = cfg.default_percentage
    if g < 0:
        return default
    if cfg.mode == "custom":
        reached = [level for level in cfg.trailing_levels if level.change <= g]
        return max(reached, key=lambda level: level.change).stop_loss if reached else default
    target = {"fixed": _fixed, "zones": _zones, "exponential": _exponential}[cfg.mode](g)
    return target if target is not None and target > 0 else default


def _fixed(g: Decimal) -> Decimal | None:
    return None if g < _TWENTY else max(ZERO, g - 10)


def _zones(g: Decimal) -> Decimal | None:
    if g < _TWENTY:
        return None
    keep = next((share for top, share in _ZONES if g <= top), _ZONE_TOP)
    return g * keep


def _exponential(g: Decimal) -> Decimal | None:
    if g <= _TWENTY:
        return None
    x = g - _TWENTY
    dip = Decimal("0.12") * (-(((x - 55) / 8) ** 2) / 2).exp()
    keep = min(max(1 - (-x / Decimal("31.25")).exp() - dip, ZERO), _KEEP_MAX)
    if x > 65:
        keep = min(_KEEP_MAX, keep + Decimal("0.30") * (1 - (-(x - 65) / 80).exp()))
    return g * keep


@in_context
def evaluate(position: Position, price_now: Decimal, config: TradingConfig) -> StopLossDecision:
    """Track the peak, ratchet the stop (target rounded half-even to the stored 4 dp first, and
    at most the largest stop the column holds; never loosens) and trigger when the price is at
    or below the stop price."""
    cfg = config.stop_loss
    stored = position.current_stop_loss_percentage
    if not cfg.enabled:
        return StopLossDecision(False, stored, None, position.peak_price, False)
    avg = position.purchase_price
    peak = price(max(position.peak_price if position.peak_price is not None else avg, price_now))
    target = min(percent(target_percentage(change_percent(peak, avg), cfg)), PERCENT_MAX)
    stop_pct = max(stored if stored is not None else percent(cfg.default_percentage), target)
    stop_price = avg * (1 + stop_pct / HUNDRED)
    changed = stop_pct != stored or peak != position.peak_price
    return StopLossDecision(price_now <= stop_price, stop_pct, stop_price, peak, changed)
