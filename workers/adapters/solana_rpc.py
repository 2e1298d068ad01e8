"""Solana JSON-RPC over httpx: send, status, block height, confirmed amounts of a fill, and
account reads — a wallet's SOL and token balances, raw accounts, address lookup tables
(parsed in ``workers.adapters.solana_accounts``).

HTTP-level failures follow ``workers.adapters.http`` (429/5xx/timeouts retried). JSON-RPC
``error`` objects become :class:`RpcError` — a ``TransientError`` subclass for codes that mean
"try again" (node behind, rate limited, block or slot not yet available, internal error) and a
``PermanentError`` subclass otherwise. The RPC URL is never logged or put in errors (provider
URLs often embed API keys).
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from domain.errors import InvalidInput, PermanentError, TransientError
from workers.adapters.http import RetryingHttp, RetryPolicy, chunks, is_address, to_decimal, to_int
from workers.adapters.solana_accounts import (
    TOKEN_PROGRAMS,
    AccountInfo,
    WalletBalances,
    context_slot,
    holdings,
    lookup_table_addresses,
    parse_accounts,
    parse_balance,
    parse_token_accounts,
)

LAMPORTS_PER_SOL = Decimal(1_000_000_000)
# Node behind/unhealthy, block not available, block status not yet available, min context
# slot not reached, internal error, provider rate limits.
TRANSIENT_RPC_CODES = frozenset({-32004, -32005, -32014, -32016, -32603, -32429, 429})


class RpcTransientError(TransientError):
    def __init__(self, method: str, code: int | None, message: str) -> None:
        super().__init__(f"solana.rpc {method}: error {code}: {message}")
        self.code = code


class RpcPermanentError(PermanentError):
    def __init__(self, method: str, code: int | None, message: str) -> None:
        super().__init__(f"solana.rpc {method}: error {code}: {message}")
        self.code = code


@dataclass(frozen=True)
class SignatureStatus:
    """``confirmation_status`` is processed/confirmed/finalized; ``err`` None on success."""

    confirmation_status: str | None
    err: Any
    slot: int

    @property
    def landed(self) -> bool:
        """Confirmed or finalized (it can no longer be dropped in practice)."""
        return self.confirmation_status in ("confirmed", "finalized")

    @property
    def succeeded(self) -> bool:
        return self.landed and self.err is None

    @property
    def failed(self) -> bool:
        return self.err is not None


@dataclass(frozen=True)
class TokenBalance:
    account_index: int
    mint: str
    owner: str | None
    amount: Decimal  # UI units (uiAmountString)


@dataclass(frozen=True)
class TransactionMeta:
    """The confirmed money movements of one transaction (``getTransaction``, json encoding).

    SOL balances are of account index 0 (the fee payer / signer), in lamports. The helpers
    exclude the network fee so they match ``Fill.sol_amount``: for a buy ``sol_spent()`` is
    the SOL that left the wallet minus the fee; for a sell ``sol_received()`` is the SOL that
    arrived plus the fee. Rent for accounts the swap opened (or closed) is part of them.
    """

    slot: int
    fee_lamports: int
    err: Any
    pre_sol_lamports: int
    post_sol_lamports: int
    pre_token_balances: tuple[TokenBalance, ...]
    post_token_balances: tuple[TokenBalance, ...]

    @property
    def fee_sol(self) -> Decimal:
        return Decimal(self.fee_lamports) / LAMPORTS_PER_SOL

    def sol_spent(self) -> Decimal:
        """SOL that left the signer, network fee excluded (negative if it gained SOL)."""
        spent = self.pre_sol_lamports - self.post_sol_lamports - self.fee_lamports
        return Decimal(spent) / LAMPORTS_PER_SOL

    def sol_received(self) -> Decimal:
        """SOL that reached the signer before the network fee (gross proceeds of a sell)."""
        return -self.sol_spent()

    def token_delta(self, owner: str, mint: str) -> Decimal:
        """Post − pre token balance of ``owner`` in ``mint`` (UI units, all its accounts)."""
        return (_token_total(self.post_token_balances, owner, mint)
                - _token_total(self.pre_token_balances, owner, mint))

    def tokens_received(self, owner: str, mint: str) -> Decimal:
        return self.token_delta(owner, mint)

    def tokens_spent(self, owner: str, mint: str) -> Decimal:
        return -self.token_delta(owner, mint)


def _token_total(balances: Sequence[TokenBalance], owner: str, mint: str) -> Decimal:
    return sum((b.amount for b in balances if b.owner == owner and b.mint == mint), Decimal(0))


class SolanaRpc:
    def __init__(self, url: str, client: httpx.Client, *,
                 policy: RetryPolicy | None = None) -> None:
        self._url = url
        self._http = RetryingHttp(client, "solana.rpc", policy)
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return "SolanaRpc()"  # the URL may carry an API key

    def send_transaction(self, raw: bytes) -> str:
        """Send signed bytes (no preflight, no RPC-side retries); returns the signature."""
        options = {"encoding": "base64", "skipPreflight": True, "maxRetries": 0}
        result = self.call("sendTransaction", [base64.b64encode(raw).decode(), options])
        if not isinstance(result, str) or not result:
            raise PermanentError("solana.rpc sendTransaction: result is not a signature")
        return result

    def get_signature_status(self, signature: str) -> SignatureStatus | None:
        """None when the cluster does not know the signature (yet)."""
        result = self.call("getSignatureStatuses",
                           [[signature], {"searchTransactionHistory": True}])
        value = result.get("value") if isinstance(result, dict) else None
        if not isinstance(value, list) or len(value) != 1:
            raise PermanentError("solana.rpc getSignatureStatuses: unexpected result")
        return None if value[0] is None else _parse_status(value[0])

    def get_block_height(self, commitment: str = "finalized") -> int:
        """Current block height. ``finalized`` by default: an expiry decision
        (``lastValidBlockHeight`` < block height) must never be premature."""
        result = self.call("getBlockHeight", [{"commitment": commitment}])
        height = to_int(result)
        if height is None:
            raise PermanentError("solana.rpc getBlockHeight: result is not an integer")
        return height

    def get_transaction(self, signature: str,
                        commitment: str = "confirmed") -> TransactionMeta | None:
        """The confirmed fill amounts, or None while the transaction is not found."""
        options = {"encoding": "json", "maxSupportedTransactionVersion": 0,
                   "commitment": commitment}
        result = self.call("getTransaction", [signature, options])
        return None if result is None else _parse_transaction(result)

    def get_balance(self, address: str, commitment: str = "confirmed") -> int:
        """The account's lamports (0 for an account that does not exist)."""
        lamports, _ = parse_balance(self.call("getBalance", [_address(address),
                                                             {"commitment": commitment}]))
        return lamports

    def get_wallet_balances(self, owner: str) -> WalletBalances:
        """SOL and every token (SPL Token and Token-2022) the wallet holds, confirmed. The
        token reads ask for a context at least as new as the SOL balance's."""
        result = self.call("getBalance", [_address(owner), {"commitment": "confirmed"}])
        lamports, slot = parse_balance(result)
        rows = []
        for program in TOKEN_PROGRAMS:
            answer = self.call("getTokenAccountsByOwner", [owner, {"programId": program}, {
                "encoding": "jsonParsed", "commitment": "confirmed", "minContextSlot": slot}])
            slot = max(slot, context_slot(answer, "getTokenAccountsByOwner"))
            rows += [(*row, program) for row in parse_token_accounts(answer, owner, program)]
        return WalletBalances(owner, slot, lamports, holdings(rows))

    def get_multiple_accounts(self, addresses: list[str]) -> list[AccountInfo | None]:
        """Raw accounts (base64), None where no account exists; ≤ 100 keys per request."""
        found: list[AccountInfo | None] = []
        for batch in chunks([_address(a) for a in addresses], 100):
            result = self.call("getMultipleAccounts", [batch, {"encoding": "base64",
                                                               "commitment": "confirmed"}])
            found += parse_accounts(result, len(batch))
        return found

    def get_lookup_tables(self, keys: list[str]) -> dict[str, tuple[str, ...]]:
        """The addresses of each address lookup table (a v0 message's ``addressTableLookups``)."""
        accounts = self.get_multiple_accounts(keys) if keys else []
        return {key: lookup_table_addresses(key, account)
                for key, account in zip(keys, accounts, strict=True)}

    def call(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC call; returns ``result`` or raises RpcTransient/PermanentError."""
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        response = self._http.post_json(self._url, body, operation=method)
        if not isinstance(response, dict):
            raise TransientError(f"solana.rpc {method}: response is not a JSON-RPC object")
        if response.get("error") is not None:
            raise _rpc_error(method, response["error"])
        if "result" not in response:
            raise TransientError(f"solana.rpc {method}: response has no result")
        return response["result"]


def _address(value: str) -> str:
    if not is_address(value):
        raise InvalidInput("address", "not a base58 Solana address")
    return value


def _rpc_error(method: str, error: Any) -> TransientError | PermanentError:
    code = to_int(error.get("code")) if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    text = message[:200] if isinstance(message, str) else "unknown error"
    lowered = text.lower()
    if code in TRANSIENT_RPC_CODES or "rate limit" in lowered or "too many requests" in lowered:
        return RpcTransientError(method, code, text)
    return RpcPermanentError(method, code, text)


def _parse_status(value: Any) -> SignatureStatus:
    if not isinstance(value, dict) or to_int(value.get("slot")) is None:
        raise PermanentError("solana.rpc getSignatureStatuses: bad status entry")
    status = value.get("confirmationStatus")
    if status is None and value.get("confirmations", 0) is None:
        status = "finalized"  # older nodes: confirmations null means rooted
    return SignatureStatus(confirmation_status=status if isinstance(status, str) else None,
                           err=value.get("err"), slot=int(value["slot"]))


def _parse_transaction(result: Any) -> TransactionMeta:
    meta = result.get("meta") if isinstance(result, dict) else None
    if not isinstance(meta, dict):
        raise PermanentError("solana.rpc getTransaction: missing meta")
    pre, post = meta.get("preBalances"), meta.get("postBalances")
    fee, slot = to_int(meta.get("fee")), to_int(result.get("slot"))
    if not (isinstance(pre, list) and pre and isinstance(post, list) and post) \
            or fee is None or slot is None:
        raise PermanentError("solana.rpc getTransaction: missing fee or balances")
    pre0, post0 = to_int(pre[0]), to_int(post[0])
    if pre0 is None or post0 is None:
        raise PermanentError("solana.rpc getTransaction: bad SOL balances")
    return TransactionMeta(
        slot=slot, fee_lamports=fee, err=meta.get("err"),
        pre_sol_lamports=pre0, post_sol_lamports=post0,
        pre_token_balances=_token_balances(meta.get("preTokenBalances")),
        post_token_balances=_token_balances(meta.get("postTokenBalances")))


def _token_balances(entries: Any) -> tuple[TokenBalance, ...]:
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise PermanentError("solana.rpc getTransaction: bad token balances")
    return tuple(_token_balance(entry) for entry in entries)


def _token_balance(entry: Any) -> TokenBalance:
    ui = entry.get("uiTokenAmount") if isinstance(entry, Mapping) else None
    amount = to_decimal(ui.get("uiAmountString")) if isinstance(ui, Mapping) else None
    if amount is None and isinstance(ui, Mapping):
        raw, decimals = to_int(ui.get("amount")), to_int(ui.get("decimals"))
        if raw is not None and decimals is not None:
            amount = Decimal(raw).scaleb(-decimals)
    index = to_int(entry.get("accountIndex")) if isinstance(entry, Mapping) else None
    if amount is None or index is None or not isinstance(entry.get("mint"), str):
        raise PermanentError("solana.rpc getTransaction: bad token balance entry")
    owner = entry.get("owner")
    return TokenBalance(index, entry["mint"], owner if isinstance(owner, str) else None, amount)
