"""The fill of a simulated buy, shared by the bulk and the per-agent paths: the price-impact
retries (docs/rules.md §5) and the affordability check, as a ``Fill`` or a ``Skip``."""

from __future__ import annotations

from decimal import Decimal

from domain import sizing
from domain.config import TradingConfig
from domain.entry import Skip, affordable
from domain.ports import Fill, PriceQuote, SwapExecutor


def within_impact(paper: SwapExecutor, size: Decimal, quote: PriceQuote,
                  config: TradingConfig) -> Decimal | None:
    """The first size whose quoted price impact is under ``maxPriceImpact``."""
    if config.purchase_limits.max_price_impact is None:
        return size
    for candidate in sizing.impact_retry_sizes(size):
        impact = paper.price_impact(quote.token_address, candidate, quote)
        if sizing.impact_acceptable(impact, config):
            return candidate
    return None


def fill_open(paper: SwapExecutor, wallet_address: str, size: Decimal, quote: PriceQuote,
              config: TradingConfig, balance: Decimal) -> Fill | Skip:
    """Fill an opening buy of ``size`` (shrunk for price impact), or the reason to skip."""
    size_ok = within_impact(paper, size, quote, config)
    if size_ok is None:
        return Skip(sizing.PRICE_IMPACT_TOO_HIGH)
    fill = paper.buy(wallet_address, quote.token_address, size_ok, quote)
    return fill_or_skip(fill, balance)


def fill_or_skip(fill: Fill, balance: Decimal) -> Fill | Skip:
    if affordable(fill.sol_amount, fill.fees_sol, balance):
        return fill
    return Skip(sizing.INSUFFICIENT_BALANCE)
