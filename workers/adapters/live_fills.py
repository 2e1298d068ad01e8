"""A confirmed live swap as a ``Fill``: the amounts the chain moved (``getTransaction``), not
the quote's. Rounding goes against the wallet: SOL spent and the network fee round up to
8 decimals, SOL received and tokens round down."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any

from domain.errors import PermanentError
from domain.money import CONTEXT, SOL_SCALE, TOKEN_SCALE
from domain.ports import Fill
from workers.adapters.http import to_decimal, to_int
from workers.adapters.jupiter import JupiterQuote
from workers.adapters.solana_rpc import SolanaRpc, TransactionMeta

_BPS = Decimal(10_000)


def _q(value: Decimal, scale: Decimal, rounding: str) -> Decimal:
    return value.quantize(scale, rounding=rounding, context=CONTEXT)


def fill_from_meta(side: str, meta: TransactionMeta, owner: str, mint: str,
                   signature: str, quote: Mapping[str, Any] | None) -> Fill:
    """``side`` buy: SOL spent (network fee excluded) for tokens received; sell: tokens
    spent for the gross SOL received (before the network fee)."""
    if side == "buy":
        sol = _q(meta.sol_spent(), SOL_SCALE, ROUND_UP)
        tokens = _q(meta.tokens_received(owner, mint), TOKEN_SCALE, ROUND_DOWN)
    else:
        sol = _q(meta.sol_received(), SOL_SCALE, ROUND_DOWN)
        tokens = _q(meta.tokens_spent(owner, mint), TOKEN_SCALE, ROUND_DOWN)
    if tokens <= 0 or sol < 0 or (side == "buy" and sol == 0):
        raise PermanentError(f"confirmed {side} {signature} moved no {mint} tokens or no SOL")
    quote = quote or {}
    return Fill(sol_amount=sol, token_amount=tokens, protocol_fee_sol=Decimal(0),
                network_fee_sol=_q(meta.fee_sol, SOL_SCALE, ROUND_UP),
                price_impact=to_decimal(quote.get("priceImpactPct")) or Decimal(0),
                slippage=Decimal(to_int(quote.get("slippageBps")) or 0) / _BPS,
                transaction_hash=signature, swap_payload=_payload(side, meta, signature, quote),
                routes=_routes(quote))


def _payload(side: str, meta: TransactionMeta, signature: str,
             quote: Mapping[str, Any]) -> dict[str, Any]:
    return {"mode": "live", "side": side, "signature": signature, "slot": meta.slot,
            "fee_lamports": meta.fee_lamports, "in_amount": quote.get("inAmount"),
            "out_amount": quote.get("outAmount"), "platform_fee": quote.get("platformFee"),
            "price_impact_pct": quote.get("priceImpactPct")}


def _routes(quote: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    plan = quote.get("routePlan")
    return [dict(step) for step in plan if isinstance(step, Mapping)] if plan else None


def token_decimals(rpc: SolanaRpc, mint: str) -> int:
    """The mint's decimals (``getTokenSupply``), to turn a token amount into base units."""
    result = rpc.call("getTokenSupply", [mint])
    value = result.get("value") if isinstance(result, dict) else None
    decimals = to_int(value.get("decimals")) if isinstance(value, dict) else None
    if decimals is None or not 0 <= decimals <= 30:
        raise PermanentError("solana.rpc getTokenSupply: bad decimals")
    return decimals


def jsonable(value: Any) -> Any:
    """A Decimal-parsed JSON value made storable in JSONB (Decimals as exact strings)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return str(value) if isinstance(value, Decimal) else value


def quote_json(quote: JupiterQuote) -> dict[str, Any]:
    result: dict[str, Any] = jsonable(quote.raw)
    return result
