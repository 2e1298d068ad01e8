"""SolanaRpc over a MockTransport JSON-RPC node."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from domain.errors import PermanentError, TransientError
from tests.unit.adapters.conftest import JUP, Sleeps, fixture_text, mock_client
from workers.adapters.http import RetryPolicy
from workers.adapters.solana_rpc import (
    RpcPermanentError,
    RpcTransientError,
    SignatureStatus,
    SolanaRpc,
)

URL = "https://rpc.example.com/?api-key=RPC-SECRET"
OWNER = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"
SIG = "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW"


def node(results: dict[str, Any], seen: list[dict[str, Any]] | None = None) -> httpx.Client:
    """A fake RPC node: ``results[method]`` is the result (or an ``{"error": …}`` dict)."""
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if seen is not None:
            seen.append(body)
        answer = results[body["method"]]
        if isinstance(answer, dict) and "error" in answer:
            return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], **answer})
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": answer})
    return mock_client(handler)


def rpc(client: httpx.Client, policy: RetryPolicy) -> SolanaRpc:
    return SolanaRpc(URL, client, policy=policy)


def test_send_transaction(policy: RetryPolicy) -> None:
    seen: list[dict[str, Any]] = []
    raw = b"\x01signed-bytes"
    assert rpc(node({"sendTransaction": SIG}, seen), policy).send_transaction(raw) == SIG
    assert seen[0]["method"] == "sendTransaction"
    assert seen[0]["params"] == [base64.b64encode(raw).decode(),
                                 {"encoding": "base64", "skipPreflight": True, "maxRetries": 0}]
    assert seen[0]["jsonrpc"] == "2.0"


def test_signature_status(policy: RetryPolicy) -> None:
    seen: list[dict[str, Any]] = []
    result = {"context": {"slot": 82}, "value": [
        {"slot": 72, "confirmations": 10, "err": None, "status": {"Ok": None},
         "confirmationStatus": "confirmed"}]}
    status = rpc(node({"getSignatureStatuses": result}, seen), policy).get_signature_status(SIG)
    assert status == SignatureStatus("confirmed", None, 72)
    assert status.landed and status.succeeded and not status.failed
    assert seen[0]["params"] == [[SIG], {"searchTransactionHistory": True}]


def test_signature_status_unknown_failed_and_rooted(policy: RetryPolicy) -> None:
    unknown = {"context": {"slot": 1}, "value": [None]}
    assert rpc(node({"getSignatureStatuses": unknown}), policy).get_signature_status(SIG) is None
    failed = {"context": {"slot": 1}, "value": [
        {"slot": 5, "confirmations": None, "err": {"InstructionError": [3, {"Custom": 6001}]},
         "confirmationStatus": "finalized"}]}
    status = rpc(node({"getSignatureStatuses": failed}), policy).get_signature_status(SIG)
    assert status is not None and status.failed and status.landed and not status.succeeded
    rooted = {"context": {"slot": 1}, "value": [{"slot": 5, "confirmations": None, "err": None}]}
    status = rpc(node({"getSignatureStatuses": rooted}), policy).get_signature_status(SIG)
    assert status is not None and status.confirmation_status == "finalized"


def test_signature_status_bad_shape(policy: RetryPolicy) -> None:
    with pytest.raises(PermanentError):
        rpc(node({"getSignatureStatuses": {"value": []}}), policy).get_signature_status(SIG)


def test_block_height(policy: RetryPolicy) -> None:
    seen: list[dict[str, Any]] = []
    assert rpc(node({"getBlockHeight": 279_632_480}, seen), policy).get_block_height() == \
        279_632_480
    assert seen[0]["params"] == [{"commitment": "finalized"}]
    with pytest.raises(PermanentError):
        rpc(node({"getBlockHeight": "high"}), policy).get_block_height()


def buy_transaction() -> Any:
    body = json.loads(fixture_text("rpc_get_transaction_buy.json"))
    body["result"]["meta"]["postTokenBalances"][0]["owner"] = OWNER
    return body["result"]


def test_get_transaction_buy(policy: RetryPolicy) -> None:
    seen: list[dict[str, Any]] = []
    meta = rpc(node({"getTransaction": buy_transaction()}, seen), policy).get_transaction(SIG)
    assert meta is not None and meta.err is None and meta.slot == 299_283_790
    assert meta.fee_lamports == 105_000 and meta.fee_sol == Decimal("0.000105")
    assert meta.sol_spent() == Decimal("0.10203928")  # 0.1 swapped + 0.00203928 ATA rent
    assert meta.sol_received() == Decimal("-0.10203928")
    assert meta.tokens_received(OWNER, JUP) == Decimal("24.987312")
    assert meta.tokens_spent(OWNER, JUP) == Decimal("-24.987312")
    assert meta.token_delta("someone else", JUP) == 0
    pool = "BhQEFZCRnWKQ21LEt4DUby7fKynfmLVJcNjfHNqjEF61"
    assert meta.tokens_spent(pool, JUP) == Decimal("24.987312")
    assert seen[0]["params"] == [SIG, {"encoding": "json", "maxSupportedTransactionVersion": 0,
                                       "commitment": "confirmed"}]


def test_get_transaction_sell_uses_raw_amount_when_ui_string_missing(
        policy: RetryPolicy) -> None:
    result = {"slot": 9, "meta": {
        "err": None, "fee": 5000, "preBalances": [1_000_000_000, 5], "postBalances":
        [1_249_995_000, 5],
        "preTokenBalances": [{"accountIndex": 2, "mint": JUP, "owner": OWNER,
                              "uiTokenAmount": {"amount": "1000000", "decimals": 6}}],
        "postTokenBalances": [{"accountIndex": 2, "mint": JUP, "owner": OWNER,
                               "uiTokenAmount": {"amount": "0", "decimals": 6,
                                                 "uiAmountString": "0"}}]}}
    meta = rpc(node({"getTransaction": result}), policy).get_transaction(SIG)
    assert meta is not None
    assert meta.sol_received() == Decimal("0.25")  # gross, the fee added back
    assert meta.tokens_spent(OWNER, JUP) == Decimal("1")


def test_get_transaction_not_found_and_bad(policy: RetryPolicy) -> None:
    assert rpc(node({"getTransaction": None}), policy).get_transaction(SIG) is None
    with pytest.raises(PermanentError):
        rpc(node({"getTransaction": {"slot": 1}}), policy).get_transaction(SIG)
    bad = buy_transaction()
    bad["meta"]["postTokenBalances"][0]["uiTokenAmount"] = {"uiAmountString": "x"}
    with pytest.raises(PermanentError):
        rpc(node({"getTransaction": bad}), policy).get_transaction(SIG)


@pytest.mark.parametrize(("code", "message"), [
    (-32005, "Node is behind by 42 slots"),
    (-32004, "Block not available for slot 1"),
    (-32603, "Internal error"),
    (-32429, "rate limited"),
    (-32000, "Too many requests for a specific RPC call"),
])
def test_transient_rpc_errors(policy: RetryPolicy, code: int, message: str) -> None:
    client = node({"getBlockHeight": {"error": {"code": code, "message": message}}})
    with pytest.raises(RpcTransientError) as info:
        rpc(client, policy).get_block_height()
    assert isinstance(info.value, TransientError) and info.value.code == code


@pytest.mark.parametrize(("code", "message"), [
    (-32602, "Invalid param: WrongSize"),
    (-32003, "Transaction signature verification failure"),
    (-32002, "Transaction simulation failed: Blockhash not found"),
    (-32601, "Method not found"),
])
def test_permanent_rpc_errors(policy: RetryPolicy, code: int, message: str) -> None:
    client = node({"sendTransaction": {"error": {"code": code, "message": message}}})
    with pytest.raises(RpcPermanentError) as info:
        rpc(client, policy).send_transaction(b"x")
    assert isinstance(info.value, PermanentError) and message in str(info.value)
    assert "RPC-SECRET" not in str(info.value)


def test_http_429_retried_then_ok(policy: RetryPolicy, sleeps: Sleeps) -> None:
    responses = [httpx.Response(429, headers={"retry-after": "1"}),
                 httpx.Response(200, json={"jsonrpc": "2.0", "id": 1, "result": 5})]
    client = mock_client(lambda r: responses.pop(0))
    assert rpc(client, policy).get_block_height() == 5 and sleeps == [1.0]


def test_http_5xx_exhausted_is_transient_without_url(policy: RetryPolicy) -> None:
    with pytest.raises(TransientError) as info:
        rpc(mock_client(lambda r: httpx.Response(502)), policy).get_block_height()
    assert "RPC-SECRET" not in str(info.value)
    assert "RPC-SECRET" not in repr(rpc(mock_client(lambda r: httpx.Response(502)), policy))


def test_non_rpc_body_is_transient(policy: RetryPolicy) -> None:
    for body in ([1], {"jsonrpc": "2.0", "id": 1}):
        def handler(request: httpx.Request, answer: Any = body) -> httpx.Response:
            return httpx.Response(200, json=answer)
        with pytest.raises(TransientError):
            rpc(mock_client(handler), policy).get_block_height()


TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
ACCOUNT = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"


def _token_account(**info: Any) -> dict[str, Any]:
    parsed = {"mint": JUP, "owner": OWNER, "state": "initialized",
              "tokenAmount": {"amount": "1500", "decimals": 3, "uiAmountString": "1.5"}, **info}
    return {"pubkey": ACCOUNT, "account": {"owner": TOKEN_PROGRAM, "lamports": 2039280,
                                           "data": {"parsed": {"info": parsed}}}}


def _balances_node(entry: Any, balance: Any = 5) -> httpx.Client:
    ctx = {"slot": 9}
    return node({"getBalance": {"context": ctx, "value": balance},
                 "getTokenAccountsByOwner": {"context": ctx, "value": [entry]}})


@pytest.mark.parametrize(("entry", "balance", "message"), [
    (_token_account(owner=JUP), 5, "is not owned by"),
    ({"pubkey": ACCOUNT, "account": {"owner": TOKEN_PROGRAM,
                                     "data": ["AAAA", "base64"]}}, 5, "not a parsed token"),
    (_token_account(tokenAmount={"amount": "-1", "decimals": 3}), 5, "bad mint or tokenAmount"),
    (_token_account(mint="not-a-mint"), 5, "bad mint or tokenAmount"),
    (_token_account(), None, "getBalance: value is not a lamport amount"),
])
def test_wallet_balances_refuse_a_malformed_answer(policy: RetryPolicy, entry: Any,
                                                   balance: Any, message: str) -> None:
    with pytest.raises(PermanentError, match=message):
        rpc(_balances_node(entry, balance), policy).get_wallet_balances(OWNER)


def test_wallet_balances_ask_for_confirmed_and_a_context_no_older(policy: RetryPolicy) -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        slot = {"getBalance": 9}.get(body["method"], 11)
        program = body["params"][1]["programId"] if len(seen) > 1 else None
        value = 5 if program is None else [_token_account()] if program == TOKEN_PROGRAM else []
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": {
            "context": {"slot": slot}, "value": value}})

    balances = rpc(mock_client(handler), policy).get_wallet_balances(OWNER)
    assert [b["method"] for b in seen] == ["getBalance", "getTokenAccountsByOwner",
                                           "getTokenAccountsByOwner"]
    assert seen[0]["params"] == [OWNER, {"commitment": "confirmed"}]
    assert seen[1]["params"] == [OWNER, {"programId": TOKEN_PROGRAM}, {
        "encoding": "jsonParsed", "commitment": "confirmed", "minContextSlot": 9}]
    assert seen[2]["params"][1] == {"programId": "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"}
    assert seen[2]["params"][2]["minContextSlot"] == 11
    assert (balances.lamports, balances.slot) == (5, 11)
    assert balances.token_amount(JUP) == Decimal("1.5")
    assert balances.tokens[JUP].accounts == (ACCOUNT,)


def test_multiple_accounts_refuse_a_short_or_malformed_answer(policy: RetryPolicy) -> None:
    short = node({"getMultipleAccounts": {"context": {"slot": 1}, "value": []}})
    with pytest.raises(PermanentError, match="expected 1 accounts"):
        rpc(short, policy).get_multiple_accounts([OWNER])
    bad = node({"getMultipleAccounts": {"context": {"slot": 1}, "value": [
        {"lamports": 1, "owner": OWNER, "data": ["%%%", "base64"]}]}})
    with pytest.raises(PermanentError, match="not base64"):
        rpc(bad, policy).get_multiple_accounts([OWNER])
