"""Simulated swaps (``domain.ports.SwapExecutor``): fills on paper at the feed price.

No chain, no hash. The model, in the money context (``domain.money.CONTEXT``):

- **buy** ``sol_amount`` (rounded down to 8 dp) at ``price × (1 + slippage)``:
  ``token_amount = sol_amount / fill price`` rounded **down** to 18 dp.
  The wallet is debited ``sol_amount + protocol_fee_sol + network_fee_sol``.
- **sell** ``token_amount`` (rounded down to 18 dp) at ``price × (1 − slippage)``:
  ``sol_amount`` is the **gross** SOL received before fees, rounded **down** to 8 dp;
  the caller credits ``sol_amount − protocol_fee_sol − network_fee_sol``. A dust sell may
  fill for 0 SOL (the position can still close); a buy that would get 0 tokens is refused.
- ``protocol_fee_sol = sol_amount × protocol_fee_bps / 10 000`` and ``network_fee_sol``
  (flat) are rounded **up** to 8 dp: every rounding goes against the wallet.
- Price impact (a fraction) comes from real market data (``workers.adapters.price_impact``:
  a Jupiter quote, or the pool's SOL reserve), never a made-up depth. It is reported on the
  fill but does not move the fill price. Without a model (offline feeds) it is 0. When the
  model cannot measure a token (no route, no SOL pair), :meth:`price_impact` answers 1 — an
  unmeasurable impact never passes a ``maxPriceImpact`` limit — and the fill reports 0; a
  market-data outage never blocks a fill (an exit must not wait on it).
- ``Fill.slippage`` is the configured slippage as a fraction (``slippage_bps / 10 000``).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_UP, Decimal, localcontext

import structlog

from domain.errors import DomainError, InvalidInput
from domain.money import CONTEXT, SOL_SCALE, TOKEN_SCALE
from domain.ports import Fill, PriceQuote
from workers.adapters.price_impact import PriceImpactModel

log = structlog.get_logger(__name__)
_BPS = Decimal(10_000)


def _bps(name: str, value: int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
        raise ValueError(f"{name} must be an integer within 0..10000")
    return Decimal(value) / _BPS


class PaperSwapExecutor:
    """A configurable slippage/fee model; see the module docstring for the conventions."""

    def __init__(self, *, slippage_bps: int = 0, protocol_fee_bps: int = 0,
                 network_fee_sol: Decimal = Decimal("0.000005"),
                 impact: PriceImpactModel | None = None) -> None:
        self._slippage = _bps("slippage_bps", slippage_bps)
        self._protocol_fee = _bps("protocol_fee_bps", protocol_fee_bps)
        if not isinstance(network_fee_sol, Decimal | int) or network_fee_sol < 0:
            raise ValueError("network_fee_sol must be a Decimal ≥ 0")
        self._network_fee = Decimal(network_fee_sol).quantize(SOL_SCALE, rounding=ROUND_UP,
                                                              context=CONTEXT)
        self._impact_model = impact

    def __repr__(self) -> str:
        return (f"PaperSwapExecutor(slippage={self._slippage}, protocol_fee={self._protocol_fee},"
                f" network_fee_sol={self._network_fee}, impact={self._impact_model!r})")

    def price_impact(self, token_address: str, sol_amount: Decimal, price: PriceQuote) -> Decimal:
        """The impact of buying with ``sol_amount`` SOL, a fraction: 0 without a model, 1
        when the model cannot measure it. A market-data outage raises ``TransientError``."""
        _positive("sol_amount", sol_amount)
        if self._impact_model is None:
            return Decimal(0)
        impact = self._impact_model.impact(token_address, sol_amount)
        if impact is None:
            log.warning("paper.price_impact_unknown", token=token_address)
            return Decimal(1)
        return impact

    def buy(self, wallet_address: str, token_address: str, sol_amount: Decimal,
            price: PriceQuote) -> Fill:
        """Spend ``sol_amount`` SOL (fees on top) for tokens at the quote's price."""
        _positive("sol_amount", sol_amount)
        unit_price = self._checked_price(token_address, price)
        with localcontext(CONTEXT):
            sol = sol_amount.quantize(SOL_SCALE, rounding=ROUND_DOWN)
            fill_price = unit_price * (1 + self._slippage)
            tokens = (sol / fill_price).quantize(TOKEN_SCALE, rounding=ROUND_DOWN)
            return self._fill("buy", sol, tokens, price, fill_price, token_address)

    def sell(self, wallet_address: str, token_address: str, token_amount: Decimal,
             price: PriceQuote) -> Fill:
        """Sell ``token_amount``; ``Fill.sol_amount`` is the gross SOL before fees."""
        _positive("token_amount", token_amount)
        unit_price = self._checked_price(token_address, price)
        with localcontext(CONTEXT):
            tokens = token_amount.quantize(TOKEN_SCALE, rounding=ROUND_DOWN)
            fill_price = unit_price * (1 - self._slippage)
            sol = (tokens * fill_price).quantize(SOL_SCALE, rounding=ROUND_DOWN)
            return self._fill("sell", sol, tokens, price, fill_price, token_address)

    def _fill(self, side: str, sol: Decimal, tokens: Decimal, quote: PriceQuote,
              fill_price: Decimal, token_address: str) -> Fill:
        if tokens <= 0 or (side == "buy" and sol <= 0):
            raise InvalidInput("amount", f"too small to {side} at this price")
        protocol_fee = (sol * self._protocol_fee).quantize(SOL_SCALE, rounding=ROUND_UP)
        payload = {"mode": "paper", "side": side, "quote_price_sol": str(quote.price_sol),
                   "quote_source": quote.source, "fill_price_sol": str(fill_price),
                   "observed_at": quote.observed_at.isoformat()}
        return Fill(sol_amount=sol, token_amount=tokens, protocol_fee_sol=protocol_fee,
                    network_fee_sol=self._network_fee,
                    price_impact=self._reported_impact(token_address, sol),
                    slippage=self._slippage, transaction_hash=None, swap_payload=payload,
                    routes=None)

    def _reported_impact(self, token_address: str, sol: Decimal) -> Decimal:
        """The fill's impact (constant-product, so a sale's SOL worth gives its impact too);
        0 when unknown or unavailable."""
        if self._impact_model is None or sol <= 0:
            return Decimal(0)
        try:
            impact = self._impact_model.impact(token_address, sol)
        except DomainError as exc:
            log.warning("paper.price_impact_unavailable", token=token_address, error=str(exc))
            return Decimal(0)
        return Decimal(0) if impact is None else impact

    @staticmethod
    def _checked_price(token_address: str, price: PriceQuote) -> Decimal:
        if price.token_address != token_address:
            raise InvalidInput("price.token_address", "quote is for another token")
        _positive("price.price_sol", price.price_sol)
        return price.price_sol


def _positive(name: str, value: Decimal) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise InvalidInput(name, "must be a positive Decimal")
