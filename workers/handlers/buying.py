"""The steps of a buy shared by every path (bulk opens, per-agent opens and DCAs, live):
docs/rules.md §3 checks, §4 sizing, §5 price-impact retries and the affordability check."""

from __future__ import annotations

import random
from decimal import Decimal

from domain import sizing
from domain.config import TradingConfig
from domain.errors import SizingError
from domain.ports import Fill, PriceQuote, SwapExecutor


def plan_size(config: TradingConfig, balance: Decimal, open_count: int, max_positions: int,
              rng: random.Random) -> Decimal | str:
    """The opening size, or the reason code to skip."""
    reason = sizing.buy_precheck(balance, open_count, config, max_positions)
    if reason is not None:
        return reason
    try:
        return sizing.position_size(balance, config, rng).size
    except SizingError as exc:
        return exc.reason


def within_impact(swaps: SwapExecutor, token: str, size: Decimal, quote: PriceQuote,
                  config: TradingConfig) -> Decimal | None:
    """The first size whose quoted price impact is under ``maxPriceImpact`` (docs/rules.md §5)."""
    if config.purchase_limits.max_price_impact is None:
        return size
    for candidate in sizing.impact_retry_sizes(size):
        if sizing.impact_acceptable(swaps.price_impact(token, candidate, quote), config):
            return candidate
    return None


def affordable(fill: Fill, balance: Decimal) -> bool:
    return fill.sol_amount + fill.fees_sol <= balance


def plan_fill(config: TradingConfig, size: Decimal, swaps: SwapExecutor, wallet_address: str,
              token: str, quote: PriceQuote, balance: Decimal) -> Fill | str:
    """Fill an opening buy of ``size`` (shrunk for price impact), or the reason to skip."""
    size_ok = within_impact(swaps, token, size, quote, config)
    if size_ok is None:
        return sizing.PRICE_IMPACT_TOO_HIGH
    fill = swaps.buy(wallet_address, token, size_ok, quote)
    return fill if affordable(fill, balance) else sizing.INSUFFICIENT_BALANCE
