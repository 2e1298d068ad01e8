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
- Price impact (a fraction) = SOL value / ``depth_sol``; ``depth_sol=None`` means 0. It is
  reported on the fill (and by :meth:`price_impact`) but does not move the fill price.
- ``Fill.slippage`` is the configured slippage as a fraction (``slippage_bps / 10 000``).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_UP, Decimal, localcontext

from domain.errors import InvalidInput
from domain.money import CONTEXT, SOL_SCALE, TOKEN_SCALE
from domain.ports import Fill, PriceQuote

FRACTION_SCALE = Decimal("1e-18")
_BPS = Decimal(10_000)


def _bps(name: str, value: int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
        raise ValueError(f"{name} must be an integer within 0..10000")
    return Decimal(value) / _BPS


class PaperSwapExecutor:
    """A configurable slippage/fee model; see the module docstring for the conventions."""

    def __init__(self, *, slippage_bps: int = 0, protocol_fee_bps: int = 0,
                 network_fee_sol: Decimal = Decimal("0.000005"),
                 depth_sol: Decimal | None = Decimal(1_000_000)) -> None:
        self._slippage = _bps("slippage_bps", slippage_bps)
        self._protocol_fee = _bps("protocol_fee_bps", protocol_fee_bps)
        if not isinstance(network_fee_sol, Decimal | int) or network_fee_sol < 0:
            raise ValueError("network_fee_sol must be a Decimal ≥ 0")
        if depth_sol is not None and (not isinstance(depth_sol, Decimal | int) or depth_sol <= 0):
            raise ValueError("depth_sol must be a positive Decimal or None")
        self._network_fee = Decimal(network_fee_sol).quantize(SOL_SCALE, rounding=ROUND_UP,
                                                              context=CONTEXT)
        self._depth = None if depth_sol is None else Decimal(depth_sol)

    def __repr__(self) -> str:
        return (f"PaperSwapExecutor(slippage={self._slippage}, protocol_fee={self._protocol_fee},"
                f" network_fee_sol={self._network_fee}, depth_sol={self._depth})")

    def price_impact(self, token_address: str, sol_amount: Decimal, price: PriceQuote) -> Decimal:
        """``sol_amount / depth_sol`` as a fraction (0 when depth is None)."""
        _positive("sol_amount", sol_amount)
        return self._impact(sol_amount)

    def buy(self, wallet_address: str, token_address: str, sol_amount: Decimal,
            price: PriceQuote) -> Fill:
        """Spend ``sol_amount`` SOL (fees on top) for tokens at the quote's price."""
        _positive("sol_amount", sol_amount)
        unit_price = self._checked_price(token_address, price)
        with localcontext(CONTEXT):
            sol = sol_amount.quantize(SOL_SCALE, rounding=ROUND_DOWN)
            fill_price = unit_price * (1 + self._slippage)
            tokens = (sol / fill_price).quantize(TOKEN_SCALE, rounding=ROUND_DOWN)
            return self._fill("buy", sol, tokens, price, fill_price)

    def sell(self, wallet_address: str, token_address: str, token_amount: Decimal,
             price: PriceQuote) -> Fill:
        """Sell ``token_amount``; ``Fill.sol_amount`` is the gross SOL before fees."""
        _positive("token_amount", token_amount)
        unit_price = self._checked_price(token_address, price)
        with localcontext(CONTEXT):
            tokens = token_amount.quantize(TOKEN_SCALE, rounding=ROUND_DOWN)
            fill_price = unit_price * (1 - self._slippage)
            sol = (tokens * fill_price).quantize(SOL_SCALE, rounding=ROUND_DOWN)
            return self._fill("sell", sol, tokens, price, fill_price)

    def _fill(self, side: str, sol: Decimal, tokens: Decimal, quote: PriceQuote,
              fill_price: Decimal) -> Fill:
        if tokens <= 0 or (side == "buy" and sol <= 0):
            raise InvalidInput("amount", f"too small to {side} at this price")
        protocol_fee = (sol * self._protocol_fee).quantize(SOL_SCALE, rounding=ROUND_UP)
        payload = {"mode": "paper", "side": side, "quote_price_sol": str(quote.price_sol),
                   "quote_source": quote.source, "fill_price_sol": str(fill_price),
                   "observed_at": quote.observed_at.isoformat()}
        return Fill(sol_amount=sol, token_amount=tokens, protocol_fee_sol=protocol_fee,
                    network_fee_sol=self._network_fee, price_impact=self._impact(sol),
                    slippage=self._slippage, transaction_hash=None, swap_payload=payload,
                    routes=None)

    def _impact(self, sol_amount: Decimal) -> Decimal:
        if self._depth is None:
            return Decimal(0)
        with localcontext(CONTEXT):
            return (sol_amount / self._depth).quantize(FRACTION_SCALE, rounding=ROUND_UP)

    @staticmethod
    def _checked_price(token_address: str, price: PriceQuote) -> Decimal:
        if price.token_address != token_address:
            raise InvalidInput("price.token_address", "quote is for another token")
        _positive("price.price_sol", price.price_sol)
        return price.price_sol


def _positive(name: str, value: Decimal) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise InvalidInput(name, "must be a positive Decimal")
