"""Account reads over Solana JSON-RPC: a wallet's SOL and token balances, raw accounts, and
address lookup tables (to judge a v0 transaction's accounts before signing it).

Parsers of ``getBalance``, ``getTokenAccountsByOwner`` (jsonParsed, SPL Token and Token-2022)
and ``getMultipleAccounts`` (base64) results; a malformed answer raises ``PermanentError``
naming the method and what was wrong — a balance is never guessed.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from solders.address_lookup_table_account import AddressLookupTable

from domain.errors import PermanentError
from workers.adapters.http import is_address, to_int

LAMPORTS_PER_SOL = Decimal(1_000_000_000)
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
TOKEN_PROGRAMS = (TOKEN_PROGRAM, TOKEN_2022_PROGRAM)
LOOKUP_TABLE_PROGRAM = "AddressLookupTab1e1111111111111111111111111"


@dataclass(frozen=True)
class TokenHolding:
    """Every token account of one owner in one mint, added up. ``amount`` is in UI units
    (``raw_amount`` scaled by ``decimals``), exact."""

    mint: str
    raw_amount: int
    decimals: int
    program: str
    accounts: tuple[str, ...]

    @property
    def amount(self) -> Decimal:
        return Decimal(self.raw_amount).scaleb(-self.decimals)


@dataclass(frozen=True)
class WalletBalances:
    """What the chain holds for a wallet at ``slot`` (confirmed). Wrapped SOL sits in
    ``tokens`` under the SOL mint, apart from the native ``lamports``."""

    owner: str
    slot: int
    lamports: int
    tokens: Mapping[str, TokenHolding]

    @property
    def sol(self) -> Decimal:
        return Decimal(self.lamports) / LAMPORTS_PER_SOL

    def token_amount(self, mint: str) -> Decimal:
        held = self.tokens.get(mint)
        return Decimal(0) if held is None else held.amount


@dataclass(frozen=True)
class AccountInfo:
    lamports: int
    owner: str
    data: bytes
    executable: bool


def _bad(method: str, what: str) -> PermanentError:
    return PermanentError(f"solana.rpc {method}: {what}")


def context_slot(result: Any, method: str) -> int:
    context = result.get("context") if isinstance(result, dict) else None
    slot = to_int(context.get("slot")) if isinstance(context, dict) else None
    if slot is None:
        raise _bad(method, "result has no context slot")
    return slot


def parse_balance(result: Any) -> tuple[int, int]:
    """``getBalance`` → (lamports, slot)."""
    lamports = to_int(result.get("value")) if isinstance(result, dict) else None
    if lamports is None or lamports < 0:
        raise _bad("getBalance", "value is not a lamport amount")
    return lamports, context_slot(result, "getBalance")


def parse_token_accounts(result: Any, owner: str, program: str) -> list[tuple[str, str, int, int]]:
    """``getTokenAccountsByOwner`` (jsonParsed) → [(account, mint, raw amount, decimals)]."""
    method = "getTokenAccountsByOwner"
    value = result.get("value") if isinstance(result, dict) else None
    if not isinstance(value, list):
        raise _bad(method, "value is not a list")
    found: list[tuple[str, str, int, int]] = []
    for entry in value:
        key = entry.get("pubkey") if isinstance(entry, dict) else None
        account = entry.get("account") if isinstance(entry, dict) else None
        data = account.get("data") if isinstance(account, dict) else None
        parsed = data.get("parsed") if isinstance(data, dict) else None
        info = parsed.get("info") if isinstance(parsed, dict) else None
        if not isinstance(key, str) or not is_address(key) or not isinstance(info, dict) \
                or not isinstance(account, dict):
            raise _bad(method, f"account {str(key)[:44]} is not a parsed token account")
        if account.get("owner") != program or info.get("owner") != owner:
            raise _bad(method, f"account {key} is not owned by {owner} under {program}")
        amount = info.get("tokenAmount")
        raw = to_int(amount.get("amount")) if isinstance(amount, dict) else None
        decimals = to_int(amount.get("decimals")) if isinstance(amount, dict) else None
        if not is_address(info.get("mint")) or raw is None or raw < 0 \
                or decimals is None or not 0 <= decimals <= 30:
            raise _bad(method, f"account {key} has a bad mint or tokenAmount")
        found.append((key, info["mint"], raw, decimals))
    return found


def holdings(entries: Sequence[tuple[str, str, int, int, str]]) -> Mapping[str, TokenHolding]:
    """(account, mint, raw, decimals, program) rows → one holding per mint."""
    result: dict[str, TokenHolding] = {}
    for key, mint, raw, decimals, program in entries:
        held = result.get(mint)
        if held is not None and (held.decimals, held.program) != (decimals, program):
            raise _bad("getTokenAccountsByOwner", f"mint {mint} reported with two "
                       "different decimals or programs")
        result[mint] = TokenHolding(mint, raw + (held.raw_amount if held else 0), decimals,
                                    program, (held.accounts if held else ()) + (key,))
    return MappingProxyType(result)


def parse_accounts(result: Any, count: int) -> list[AccountInfo | None]:
    """``getMultipleAccounts`` (base64) → one AccountInfo (or None: no account) per key."""
    method = "getMultipleAccounts"
    value = result.get("value") if isinstance(result, dict) else None
    if not isinstance(value, list) or len(value) != count:
        raise _bad(method, f"expected {count} accounts")
    return [None if entry is None else _account(entry, method) for entry in value]


def _account(entry: Any, method: str) -> AccountInfo:
    data = entry.get("data") if isinstance(entry, dict) else None
    lamports = to_int(entry.get("lamports")) if isinstance(entry, dict) else None
    if not (isinstance(data, list) and len(data) == 2 and data[1] == "base64"
            and isinstance(data[0], str)) or lamports is None \
            or not is_address(entry.get("owner")):
        raise _bad(method, "bad account entry")
    try:
        raw = base64.b64decode(data[0], validate=True)
    except (binascii.Error, ValueError):
        raise _bad(method, "account data is not base64") from None
    return AccountInfo(lamports, entry["owner"], raw, entry.get("executable") is True)


def lookup_table_addresses(key: str, account: AccountInfo | None) -> tuple[str, ...]:
    """The addresses stored in an address lookup table account."""
    if account is None:
        raise PermanentError(f"address lookup table {key} does not exist")
    if account.owner != LOOKUP_TABLE_PROGRAM:
        raise PermanentError(f"account {key} is not an address lookup table")
    try:
        table = AddressLookupTable.deserialize(account.data)
    except Exception:  # solders raises its own error types for bad bytes
        table = None
    if table is None:
        raise PermanentError(f"address lookup table {key} cannot be read")
    return tuple(str(address) for address in table.addresses)
