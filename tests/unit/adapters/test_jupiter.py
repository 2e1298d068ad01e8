"""JupiterClient: quote and swap-transaction requests and parsing."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from domain.errors import InvalidInput, PermanentError, TransientError
from tests.litesvm_chain import TOKEN
from tests.live_fakes import jupiter_instructions
from tests.unit.adapters.conftest import (
    JUP,
    SOL,
    Sleeps,
    fixture_text,
    mock_client,
    unsigned_tx_b64,
)
from workers.adapters.http import RetryPolicy
from workers.adapters.jupiter import (
    JupiterClient,
    JupiterQuote,
    PlatformFee,
    parse_quote,
    parse_swap,
    route_labels,
)
from workers.adapters.signing_policy import SigningRefused

BASE = "https://api.jup.ag/swap/v1"
USER = str(Keypair().pubkey())


def client(handler: Any, policy: RetryPolicy, api_key: str | None = "jk-1") -> JupiterClient:
    return JupiterClient(mock_client(handler), base_url=BASE, api_key=api_key, policy=policy)


def quote_handler(seen: list[httpx.Request]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text=fixture_text("jupiter_quote.json"))
    return handler


def get_quote(policy: RetryPolicy, seen: list[httpx.Request] | None = None) -> JupiterQuote:
    return client(quote_handler([] if seen is None else seen), policy).quote(
        SOL, JUP, 100_000_000, 50)


def test_quote_request_and_parsing(policy: RetryPolicy) -> None:
    seen: list[httpx.Request] = []
    quote = get_quote(policy, seen)
    request = seen[0]
    assert request.method == "GET" and request.url.path == "/swap/v1/quote"
    assert dict(request.url.params) == {"inputMint": SOL, "outputMint": JUP,
                                        "amount": "100000000", "slippageBps": "50"}
    assert request.headers["x-api-key"] == "jk-1"
    assert (quote.in_amount, quote.out_amount, quote.other_amount_threshold) == (
        100_000_000, 24_987_312, 24_862_375)
    assert quote.price_impact == Decimal("0.0012345678901234567")  # exact, from the string
    assert quote.platform_fee is None and quote.slippage_bps == 50
    assert quote.input_mint == SOL and quote.output_mint == JUP
    assert route_labels(quote) == ["Meteora DLMM"]
    assert quote.raw["timeTaken"] == Decimal("0.015257836")


def test_platform_fee_parsed() -> None:
    body = json.loads(fixture_text("jupiter_quote.json"), parse_float=Decimal)
    body["platformFee"] = {"amount": "12345", "feeBps": 20}
    assert parse_quote(body).platform_fee == PlatformFee(12345, 20)


@pytest.mark.parametrize(("field", "value"), [
    ("outAmount", None), ("outAmount", "12.5"), ("inAmount", "abc"),
    ("priceImpactPct", 0.1), ("priceImpactPct", "x"), ("routePlan", None),
    ("routePlan", ["x"]), ("platformFee", {"amount": "x", "feeBps": 1}),
])
def test_bad_quote_fields_are_permanent(field: str, value: object) -> None:
    body = json.loads(fixture_text("jupiter_quote.json"), parse_float=Decimal)
    body[field] = value
    with pytest.raises(PermanentError, match=field):
        parse_quote(body)


def swap_tx_b64(quote: JupiterQuote, user: str) -> str:
    """The transaction Jupiter builds for ``quote`` (as the fake Jupiter does), unsigned."""
    payer = Pubkey.from_string(user)
    ixs = jupiter_instructions(payer, dict(quote.raw), lambda mint: TOKEN,
                               priority_fee=10_000, authority=Keypair().pubkey())
    message = MessageV0.try_compile(payer, ixs, [], Hash.new_unique())
    unsigned = VersionedTransaction.populate(message, [Signature.default()])
    return base64.b64encode(bytes(unsigned)).decode()


def test_swap_request_body_and_parsing(policy: RetryPolicy) -> None:
    quote = get_quote(policy)
    tx_b64 = swap_tx_b64(quote, USER)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"swapTransaction": tx_b64,
                                         "lastValidBlockHeight": 279_632_475,
                                         "prioritizationFeeLamports": 9_999})

    swap = client(handler, policy).swap_transaction(quote, USER, 1_000_000)
    assert swap.swap_transaction_b64 == tx_b64
    assert swap.last_valid_block_height == 279_632_475
    assert swap.prioritization_fee_lamports == 9_999
    assert swap.transaction_bytes()[:1] == b"\x01"
    request = seen[0]
    assert request.method == "POST" and request.url.path == "/swap/v1/swap"
    assert request.headers["x-api-key"] == "jk-1"
    sent = json.loads(request.content, parse_float=Decimal)
    assert sent["quoteResponse"] == json.loads(fixture_text("jupiter_quote.json"),
                                               parse_float=Decimal)
    assert b'"timeTaken":0.015257836' in request.content  # a number, exactly as received
    assert sent["userPublicKey"] == USER and sent["wrapAndUnwrapSol"] is True
    assert sent["dynamicComputeUnitLimit"] is True
    assert sent["prioritizationFeeLamports"] == {"priorityLevelWithMaxLamports": {
        "priorityLevel": "veryHigh", "maxLamports": 1_000_000}}


@pytest.mark.parametrize("body", [
    {"lastValidBlockHeight": 1},
    {"swapTransaction": "not base64!!", "lastValidBlockHeight": 1},
    {"swapTransaction": "AAAA", "lastValidBlockHeight": "soon"},
    [],
])
def test_bad_swap_responses_are_permanent(body: object) -> None:
    with pytest.raises(PermanentError):
        parse_swap(body)


def test_quote_no_route_400_not_retried(policy: RetryPolicy, sleeps: Sleeps) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(400, json={"error": "Could not find any route",
                                         "errorCode": "COULD_NOT_FIND_ANY_ROUTE"})

    with pytest.raises(PermanentError, match="COULD_NOT_FIND_ANY_ROUTE"):
        client(handler, policy).quote(SOL, JUP, 1000, 50)
    assert len(calls) == 1 and sleeps == []


def test_quote_429_and_5xx_retried(policy: RetryPolicy, sleeps: Sleeps) -> None:
    responses = [httpx.Response(429), httpx.Response(503),
                 httpx.Response(200, text=fixture_text("jupiter_quote.json"))]
    quote = client(lambda r: responses.pop(0), policy).quote(SOL, JUP, 100_000_000, 50)
    assert quote.out_amount == 24_987_312 and len(sleeps) == 2


def test_swap_timeouts_exhausted_transient(policy: RetryPolicy) -> None:
    quote = get_quote(policy)

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    with pytest.raises(TransientError):
        client(handler, policy).swap_transaction(quote, USER, 1000)


@pytest.mark.parametrize(("args", "field"), [
    (("bad", JUP, 1, 50), "input_mint"),
    ((SOL, SOL, 1, 50), "output_mint"),
    ((SOL, JUP, 0, 50), "amount_base_units"),
    ((SOL, JUP, 1.5, 50), "amount_base_units"),
    ((SOL, JUP, 1, 10_001), "slippage_bps"),
])
def test_quote_argument_validation(policy: RetryPolicy, args: tuple[Any, ...],
                                   field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        client(quote_handler([]), policy).quote(*args)
    assert info.value.field == field


def test_swap_argument_validation(policy: RetryPolicy) -> None:
    quote = get_quote(policy)
    jc = client(quote_handler([]), policy)
    with pytest.raises(InvalidInput, match="user_public_key"):
        jc.swap_transaction(quote, "nope", 1)
    with pytest.raises(InvalidInput, match="priority_level"):
        jc.swap_transaction(quote, USER, 1, priority_level="ludicrous")
    with pytest.raises(InvalidInput, match="max_priority_lamports"):
        jc.swap_transaction(quote, USER, -1)


def test_key_not_in_repr_and_optional(policy: RetryPolicy) -> None:
    seen: list[httpx.Request] = []
    jc = JupiterClient(mock_client(quote_handler(seen)), api_key=None, policy=policy)
    jc.quote(SOL, JUP, 100_000_000, 50)
    assert "x-api-key" not in seen[0].headers
    assert "jk-1" not in repr(client(quote_handler([]), policy))


def test_a_swap_transaction_that_does_not_do_the_quote_is_refused(policy: RetryPolicy) -> None:
    quote = get_quote(policy)
    third_party = unsigned_tx_b64(Pubkey.from_string(USER))  # the wallet pays a stranger

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"swapTransaction": third_party,
                                         "lastValidBlockHeight": 1})

    with pytest.raises(SigningRefused, match="not an account of the wallet") as info:
        client(handler, policy).swap_transaction(quote, USER, 1_000_000)
    assert "expected exactly one Jupiter swap instruction, found 0" in info.value.reasons


@pytest.mark.parametrize(("field", "value", "message"), [
    ("outputMint", "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263", "outputMint DezX"),
    ("inputMint", JUP, "inputMint"),
    ("inAmount", "100000001", "inAmount 100000001, asked 100000000"),
    ("swapMode", "ExactOut", "swapMode ExactOut"),
    ("slippageBps", 300, "slippageBps 300, asked at most 50"),
    ("otherAmountThreshold", "24987313", "otherAmountThreshold 24987313"),
])
def test_a_quote_for_something_else_than_asked_is_refused(
        policy: RetryPolicy, field: str, value: object, message: str) -> None:
    body = json.loads(fixture_text("jupiter_quote.json"), parse_float=Decimal)
    body[field] = value
    answer = json.dumps(body, default=str)
    jc = client(lambda request: httpx.Response(200, text=answer), policy)
    with pytest.raises(PermanentError, match="does not match the request") as info:
        jc.quote(SOL, JUP, 100_000_000, 50)
    assert message in str(info.value)
