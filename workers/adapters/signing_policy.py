"""Judge a swap transaction before the wallet signs it (docs/rules.md §12).

Decodes the unsigned ``VersionedTransaction`` with solders, resolves a v0 message's address
lookup tables through the RPC (``getMultipleAccounts``) so every account is a real address,
derives the wallet's associated token accounts, and applies the pure rules of
``domain.signing``. Any reason to refuse raises :class:`SigningRefused` (a
``PermanentError``) naming every reason; nothing is signed or sent.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Protocol

from solders.pubkey import Pubkey
from solders.token.associated import get_associated_token_address
from solders.transaction import VersionedTransaction

from domain.errors import PermanentError
from domain.signing import Instruction, SwapIntent, TransactionView, refusals


class LookupTableSource(Protocol):
    """``SolanaRpc.get_lookup_tables``: the addresses stored in each lookup table."""

    def get_lookup_tables(self, keys: list[str]) -> Mapping[str, tuple[str, ...]]: ...


class SigningRefused(PermanentError):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("refusing to sign the swap transaction: " + "; ".join(reasons))
        self.reasons = tuple(reasons)


@lru_cache(maxsize=4096)
def associated_token_address(owner: str, mint: str, program: str) -> str:
    return str(get_associated_token_address(Pubkey.from_string(owner), Pubkey.from_string(mint),
                                            Pubkey.from_string(program)))


def decode_transaction(raw: bytes) -> VersionedTransaction:
    try:
        return VersionedTransaction.from_bytes(raw)
    except (binascii.Error, ValueError, TypeError):
        raise PermanentError("swap transaction is not a valid versioned transaction") from None


def account_keys(message: Any, tables: LookupTableSource | None) -> list[str]:
    """Static keys, then every table's writable, then every table's readonly addresses —
    the order a message's instructions index into."""
    keys = [str(k) for k in message.account_keys]
    lookups = list(getattr(message, "address_table_lookups", None) or [])
    if not lookups:
        return keys
    if tables is None:
        raise SigningRefused(["the transaction uses address lookup tables and no RPC is "
                              "configured to resolve them"])
    found = tables.get_lookup_tables([str(lookup.account_key) for lookup in lookups])
    writable: list[str] = []
    readonly: list[str] = []
    for lookup in lookups:
        table = found[str(lookup.account_key)]
        for indexes, into in ((bytes(lookup.writable_indexes), writable),
                              (bytes(lookup.readonly_indexes), readonly)):
            if any(i >= len(table) for i in indexes):
                raise SigningRefused([f"lookup table {lookup.account_key} has no entry for "
                                      "an index the transaction uses"])
            into += [table[i] for i in indexes]
    return keys + writable + readonly


def transaction_view(tx: VersionedTransaction,
                     tables: LookupTableSource | None) -> TransactionView:
    """The transaction as plain data: required signers and resolved instructions."""
    message = tx.message
    keys = account_keys(message, tables)

    def key(index: int) -> str:
        if index >= len(keys):
            raise SigningRefused([f"an instruction uses account index {index} of {len(keys)}"])
        return keys[index]

    signers = tuple(keys[:message.header.num_required_signatures])
    instructions = tuple(
        Instruction(key(ix.program_id_index), tuple(key(i) for i in bytes(ix.accounts)),
                    bytes(ix.data)) for ix in message.instructions)
    return TransactionView(signers, instructions)


def judge_swap_transaction(raw: bytes, intent: SwapIntent,
                           tables: LookupTableSource | None) -> None:
    """Raise :class:`SigningRefused` unless ``raw`` (unsigned) does exactly ``intent``."""
    view = transaction_view(decode_transaction(raw), tables)
    reasons = refusals(view, intent, associated_token_address)
    if reasons:
        raise SigningRefused(reasons)
