"""Jupiter Swap API v1 client: quotes and unsigned swap transactions (httpx, with retries).

``base_url`` is the API root ending in ``/swap/v1``; requests go to ``{base_url}/quote`` and
``{base_url}/swap``. 429/5xx/timeouts are retried (``workers.adapters.http``); other 4xx raise
``HttpStatusError`` (a ``PermanentError``, with Jupiter's ``errorCode`` when it sends one).
A 200 response missing a required field raises ``PermanentError`` naming the field.

Jupiter's answers are checked before they are used (docs/rules.md §12): a quote
must be for the mints, amount and mode asked (else ``PermanentError``), and a swap
transaction must do exactly that quote for the wallet (``workers.adapters.signing_policy``:
``SigningRefused`` naming every reason). A v0 transaction's lookup tables are resolved with
``lookup_tables`` (the ``SolanaRpc``); without it, a transaction that uses them is refused.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import httpx
from pydantic import SecretStr

from domain.errors import InvalidInput, PermanentError
from domain.signing import SwapIntent
from workers.adapters.http import (
    RetryingHttp,
    RetryPolicy,
    api_key_headers,
    as_secret,
    is_address,
    to_decimal,
    to_int,
)
from workers.adapters.signing_policy import LookupTableSource, judge_swap_transaction

PRIORITY_LEVELS = ("medium", "high", "veryHigh")


@dataclass(frozen=True)
class PlatformFee:
    amount: int
    fee_bps: int


@dataclass(frozen=True)
class JupiterQuote:
    """A parsed ``/quote`` response. ``raw`` is the response as received (sent back to
    ``/swap`` unchanged); ``price_impact`` is a fraction (``priceImpactPct`` is a fraction
    despite its name)."""

    input_mint: str
    output_mint: str
    in_amount: int
    out_amount: int
    other_amount_threshold: int
    slippage_bps: int
    price_impact: Decimal
    platform_fee: PlatformFee | None
    route_plan: tuple[Mapping[str, Any], ...]
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class SwapTransaction:
    swap_transaction_b64: str
    last_valid_block_height: int
    prioritization_fee_lamports: int

    def transaction_bytes(self) -> bytes:
        return base64.b64decode(self.swap_transaction_b64, validate=True)


class JupiterClient:
    def __init__(self, client: httpx.Client, *, base_url: str = "https://api.jup.ag/swap/v1",
                 api_key: SecretStr | str | None = None,
                 policy: RetryPolicy | None = None,
                 lookup_tables: LookupTableSource | None = None) -> None:
        self._http = RetryingHttp(client, "jupiter.swap", policy)
        self._base_url = base_url.rstrip("/")
        self._api_key = as_secret(api_key)
        self._lookup_tables = lookup_tables

    def __repr__(self) -> str:
        return "JupiterClient()"

    def quote(self, input_mint: str, output_mint: str, amount_base_units: int,
              slippage_bps: int) -> JupiterQuote:
        _check_quote_args(input_mint, output_mint, amount_base_units, slippage_bps)
        params = {"inputMint": input_mint, "outputMint": output_mint,
                  "amount": str(amount_base_units), "slippageBps": str(slippage_bps)}
        body = self._http.get_json(f"{self._base_url}/quote", operation="quote", params=params,
                                   headers=api_key_headers(self._api_key))
        quote = parse_quote(body)
        check_quote_answer(quote, input_mint, output_mint, amount_base_units, slippage_bps)
        return quote

    def swap_transaction(self, quote: JupiterQuote, user_public_key: str,
                         max_priority_lamports: int,
                         priority_level: str = "veryHigh") -> SwapTransaction:
        if not is_address(user_public_key):
            raise InvalidInput("user_public_key", "not a base58 Solana address")
        if priority_level not in PRIORITY_LEVELS:
            raise InvalidInput("priority_level", f"must be one of {', '.join(PRIORITY_LEVELS)}")
        if isinstance(max_priority_lamports, bool) or not isinstance(max_priority_lamports, int) \
                or max_priority_lamports < 0:
            raise InvalidInput("max_priority_lamports", "must be an integer ≥ 0")
        body = {"userPublicKey": user_public_key, "quoteResponse": quote.raw,
                "wrapAndUnwrapSol": True, "dynamicComputeUnitLimit": True,
                "prioritizationFeeLamports": {"priorityLevelWithMaxLamports": {
                    "priorityLevel": priority_level, "maxLamports": max_priority_lamports}}}
        response = self._http.post_json(f"{self._base_url}/swap", body, operation="swap",
                                        headers=api_key_headers(self._api_key))
        swap = parse_swap(response)
        judge_swap_transaction(swap.transaction_bytes(),
                               swap_intent(quote, user_public_key, max_priority_lamports),
                               self._lookup_tables)
        return swap


def swap_intent(quote: JupiterQuote, wallet: str, max_priority_lamports: int) -> SwapIntent:
    """What signing the swap of ``quote`` for ``wallet`` may do."""
    return SwapIntent(wallet=wallet, input_mint=quote.input_mint,
                      output_mint=quote.output_mint, in_amount=quote.in_amount,
                      min_out_amount=quote.other_amount_threshold,
                      slippage_bps=quote.slippage_bps,
                      max_priority_lamports=max_priority_lamports)


def check_quote_answer(quote: JupiterQuote, input_mint: str, output_mint: str, amount: int,
                       slippage_bps: int) -> None:
    """A quote must be for what was asked: the same mints, amount in, exact-in, no more
    slippage, and a minimum out no higher than the expected out."""
    mode = quote.raw.get("swapMode", "ExactIn")
    wrong = [f"{name} {got}, asked {want}" for name, got, want in (
        ("inputMint", quote.input_mint, input_mint),
        ("outputMint", quote.output_mint, output_mint),
        ("inAmount", quote.in_amount, amount), ("swapMode", mode, "ExactIn")) if got != want]
    if quote.slippage_bps > slippage_bps:
        wrong.append(f"slippageBps {quote.slippage_bps}, asked at most {slippage_bps}")
    if not 0 <= quote.other_amount_threshold <= quote.out_amount:
        wrong.append(f"otherAmountThreshold {quote.other_amount_threshold} is not within "
                     f"0..outAmount {quote.out_amount}")
    if wrong:
        raise PermanentError("jupiter.swap quote: the answer does not match the request: "
                             + "; ".join(wrong))


def _check_quote_args(input_mint: str, output_mint: str, amount: int, slippage_bps: int) -> None:
    for name, mint in (("input_mint", input_mint), ("output_mint", output_mint)):
        if not is_address(mint):
            raise InvalidInput(name, "not a base58 Solana address")
    if input_mint == output_mint:
        raise InvalidInput("output_mint", "must differ from input_mint")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidInput("amount_base_units", "must be a positive integer")
    if isinstance(slippage_bps, bool) or not isinstance(slippage_bps, int) \
            or not 0 <= slippage_bps <= 10_000:
        raise InvalidInput("slippage_bps", "must be an integer within 0..10000")


def _field(body: Mapping[str, Any], name: str, parse: Any, operation: str) -> Any:
    value = parse(body.get(name))
    if value is None:
        raise PermanentError(f"jupiter.swap {operation}: bad or missing field {name}")
    return value


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_quote(body: Any) -> JupiterQuote:
    """A ``/quote`` response → :class:`JupiterQuote` (PermanentError naming a bad field)."""
    if not isinstance(body, dict):
        raise PermanentError("jupiter.swap quote: response is not an object")
    route_plan = body.get("routePlan")
    if not isinstance(route_plan, list) or not all(isinstance(r, dict) for r in route_plan):
        raise PermanentError("jupiter.swap quote: bad or missing field routePlan")
    return JupiterQuote(
        input_mint=_field(body, "inputMint", _text, "quote"),
        output_mint=_field(body, "outputMint", _text, "quote"),
        in_amount=_field(body, "inAmount", to_int, "quote"),
        out_amount=_field(body, "outAmount", to_int, "quote"),
        other_amount_threshold=_field(body, "otherAmountThreshold", to_int, "quote"),
        slippage_bps=_field(body, "slippageBps", to_int, "quote"),
        price_impact=_field(body, "priceImpactPct", _impact, "quote"),
        platform_fee=_platform_fee(body.get("platformFee")),
        route_plan=tuple(MappingProxyType(r) for r in route_plan),
        raw=MappingProxyType(body),
    )


def _impact(value: object) -> Decimal | None:
    return to_decimal(value) if isinstance(value, str) else None


def _platform_fee(value: object) -> PlatformFee | None:
    if not isinstance(value, dict):
        return None
    amount, fee_bps = to_int(value.get("amount")), to_int(value.get("feeBps"))
    if amount is None or fee_bps is None:
        raise PermanentError("jupiter.swap quote: bad field platformFee")
    return PlatformFee(amount, fee_bps)


def _base64(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return value


def parse_swap(body: Any) -> SwapTransaction:
    """A ``/swap`` response → :class:`SwapTransaction`."""
    if not isinstance(body, dict):
        raise PermanentError("jupiter.swap swap: response is not an object")
    return SwapTransaction(
        swap_transaction_b64=_field(body, "swapTransaction", _base64, "swap"),
        last_valid_block_height=_field(body, "lastValidBlockHeight", to_int, "swap"),
        prioritization_fee_lamports=_field({"prioritizationFeeLamports": 0, **body},
                                           "prioritizationFeeLamports", to_int, "swap"),
    )


def route_labels(quote: JupiterQuote) -> Sequence[str]:
    """The AMM labels of a quote's route, for logs and the ledger's ``routes``."""
    labels = []
    for step in quote.route_plan:
        info = step.get("swapInfo")
        if isinstance(info, dict) and isinstance(info.get("label"), str):
            labels.append(info["label"])
    return labels
