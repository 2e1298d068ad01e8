"""A real Solana runtime for the tests: ``solders.litesvm.LiteSVM`` plus what an RPC node keeps
around it — block height and blockhash expiry, sent-but-not-landed transactions, and each
landed transaction's balances before and after (LiteSVM's ``TransactionMetadata`` has the fee,
logs and compute units but no balances, so they are read from the account state around the
execution).

LiteSVM verifies signatures, the fee payer, the blockhash, rent and balances, and runs the real
System, SPL Token, Token-2022, Associated Token Account and Address Lookup Table programs.
Other program ids (Jupiter's) get a stub SBF program that returns a chosen code: 0 succeeds,
anything else fails the instruction with ``Custom(code)`` as a real program's error would.
Every method takes one lock: the loopback RPC server calls it from several threads.
"""

from __future__ import annotations

import json
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTable
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.token.associated import get_associated_token_address
from solders.token.state import Mint, TokenAccount, TokenAccountState
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata

from domain.base58 import b58encode

SYSTEM = Pubkey.from_string("11111111111111111111111111111111")
TOKEN = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022 = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ATA_PROGRAM = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
COMPUTE_BUDGET = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
ALT_PROGRAM = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")
NATIVE_MINT = Pubkey.from_string("So11111111111111111111111111111111111111112")
TOKEN_PROGRAMS = (TOKEN, TOKEN_2022)
TOKEN_ACCOUNT_LEN, MINT_LEN = 165, 82
# Outcomes of a sent transaction that never lands on a real cluster: no fee, no history.
NOT_LANDED = ("BlockhashNotFound", "AlreadyProcessed", "SignatureFailure",
              "InsufficientFundsForFee", "AccountNotFound")


def stub_program(return_code: int) -> bytes:
    """The smallest SBF ELF the loader accepts: ``mov64 r0, code; exit``."""
    text = struct.pack("<BBhi", 0xB7, 0, 0, return_code) + struct.pack("<BBhi", 0x95, 0, 0, 0)
    names = b"\0.text\0.shstrtab\0"
    text_at, names_at = 64, 64 + len(text)
    headers_at = (names_at + len(names) + 7) // 8 * 8
    elf = b"\x7fELF" + bytes([2, 1, 1, 0, 0]) + bytes(7) + struct.pack(
        "<HHIQQQIHHHHHH", 3, 247, 1, text_at, 0, headers_at, 0, 64, 56, 0, 64, 3, 2)
    elf += text + names
    elf += bytes(headers_at - len(elf)) + bytes(64)
    elf += struct.pack("<IIQQQQIIQQ", 1, 1, 6, text_at, text_at, len(text), 0, 0, 4, 0)
    return elf + struct.pack("<IIQQQQIIQQ", 7, 3, 0, 0, names_at, len(names), 0, 0, 1, 0)


def ui_amount_string(amount: int, decimals: int) -> str:
    """As the RPC prints ``uiAmountString``: exact, trailing zeros trimmed."""
    text = str(amount).rjust(decimals + 1, "0")
    whole, frac = (text[:-decimals], text[-decimals:]) if decimals else (text, "")
    frac = frac.rstrip("0")
    return f"{whole}.{frac}" if frac else whole


@dataclass(frozen=True)
class TokenState:
    mint: str
    owner: str
    amount: int
    decimals: int
    program: str

    def rpc_amount(self) -> dict[str, Any]:
        return {"amount": str(self.amount), "decimals": self.decimals, "uiAmount": None,
                "uiAmountString": ui_amount_string(self.amount, self.decimals)}


@dataclass(frozen=True)
class Snapshot:
    lamports: int
    token: TokenState | None


@dataclass
class Landed:
    """A transaction the runtime executed (successfully or not) and charged."""

    signature: str
    slot: int
    raw: bytes
    keys: list[str]
    loaded: tuple[list[str], list[str]]
    meta: TransactionMetadata
    err: Any  # the RPC's JSON form; None on success
    pre: list[Snapshot]
    post: list[Snapshot]


@dataclass
class Hook:
    """Run around the execution of one message: ``before`` may change the programs,
    ``after`` applies the outcome of a successful transaction (the test's "swap result")."""

    before: Callable[[], None] = lambda: None
    after: Callable[[], None] = lambda: None


@dataclass
class SolanaRuntime:
    validity: int = 150
    land: bool = True  # sent transactions land at once; False: held until land_now
    svm: LiteSVM = field(default_factory=LiteSVM)
    landed: dict[str, Landed] = field(default_factory=dict)
    held: dict[str, bytes] = field(default_factory=dict)
    hooks: dict[bytes, Hook] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _height: int = 1_000
    _valid_until: dict[str, int] = field(default_factory=dict)
    _programs: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.create_mint(NATIVE_MINT, 9)  # the wrapped-SOL mint exists on every cluster

    # -- blocks ------------------------------------------------------------------------
    @property
    def block_height(self) -> int:
        return self._height

    @block_height.setter
    def block_height(self, height: int) -> None:
        """Move the chain; the latest blockhash expires once its validity has passed."""
        with self.lock:
            self._height = height
            latest = str(self.svm.latest_blockhash())
            if self._valid_until.get(latest, height) < height:
                self.svm.expire_blockhash()

    def latest_blockhash(self) -> tuple[str, int]:
        """(blockhash, lastValidBlockHeight), fixed for a blockhash once it is handed out."""
        with self.lock:
            blockhash = str(self.svm.latest_blockhash())
            return blockhash, self._valid_until.setdefault(blockhash,
                                                           self._height + self.validity)

    # -- accounts ----------------------------------------------------------------------
    def account(self, address: Pubkey) -> Account | None:
        with self.lock:
            return self.svm.get_account(address)

    def lamports(self, address: Pubkey) -> int:
        found = self.account(address)
        return 0 if found is None else found.lamports

    def airdrop(self, address: Pubkey, lamports: int) -> None:
        with self.lock:
            result = self.svm.airdrop(address, lamports)
        assert isinstance(result, TransactionMetadata), result

    def set_lamports(self, address: Pubkey, lamports: int) -> None:
        with self.lock:
            found = self.svm.get_account(address)
            assert found is not None, f"no account {address}"
            self.svm.set_account(address, Account(lamports, found.data, found.owner,
                                                  found.executable, found.rent_epoch))

    def create_mint(self, mint: Pubkey, decimals: int, program: Pubkey = TOKEN,
                    supply: int = 10**18) -> None:
        data = bytes(Mint(mint_authority=None, supply=supply, decimals=decimals,
                          is_initialized=True))
        self._put(mint, data, program)

    def token_account(self, owner: Pubkey, mint: Pubkey) -> Pubkey:
        """The owner's associated token account for ``mint`` (under the mint's program)."""
        return get_associated_token_address(owner, mint, self.mint_program(mint))

    def set_token_balance(self, owner: Pubkey, mint: Pubkey, amount: int) -> Pubkey:
        """Create or overwrite the owner's associated token account with ``amount``."""
        address = self.token_account(owner, mint)
        native = self.svm.minimum_balance_for_rent_exemption(TOKEN_ACCOUNT_LEN)
        state = TokenAccount(mint=mint, owner=owner, amount=amount, delegate=None,
                             state=TokenAccountState.Initialized,
                             is_native=native if mint == NATIVE_MINT else None,
                             delegated_amount=0)
        extra = amount if mint == NATIVE_MINT else 0
        self._put(address, bytes(state), self.mint_program(mint), extra)
        return address

    def add_tokens(self, address: Pubkey, delta: int) -> None:
        """Change a token account's amount in place (wrapped SOL moves its lamports too)."""
        with self.lock:
            found = self.svm.get_account(address)
            state = self.token_state(address)
            assert found is not None and state is not None, f"no token account {address}"
            assert state.amount + delta >= 0, f"{address} holds {state.amount} < {-delta}"
            data = bytearray(bytes(found.data))
            data[64:72] = (state.amount + delta).to_bytes(8, "little")
            lamports = found.lamports + (delta if state.mint == str(NATIVE_MINT) else 0)
            self.svm.set_account(address, Account(lamports, bytes(data), found.owner,
                                                  found.executable, found.rent_epoch))

    def token_state(self, address: Pubkey) -> TokenState | None:
        with self.lock:
            found = self.svm.get_account(address)
            data = bytes(found.data) if found is not None else b""
            if found is None or found.owner not in TOKEN_PROGRAMS or len(data) < TOKEN_ACCOUNT_LEN \
                    or (len(data) > TOKEN_ACCOUNT_LEN and data[TOKEN_ACCOUNT_LEN] != 2):
                return None  # not a token account (Token-2022 marks accounts with type 2)
            state = TokenAccount.from_bytes(data[:TOKEN_ACCOUNT_LEN])
            mint = self.svm.get_account(state.mint)
            decimals = Mint.from_bytes(bytes(mint.data[:MINT_LEN])).decimals if mint else 0
            return TokenState(str(state.mint), str(state.owner), state.amount, decimals,
                              str(found.owner))

    def token_accounts(self, owner: Pubkey, program: Pubkey) -> list[tuple[Pubkey, TokenState]]:
        with self.lock:
            found = [(key, self.token_state(key)) for key, _ in
                     self.svm.get_program_accounts(program)]
        return [(k, s) for k, s in found if s is not None and s.owner == str(owner)]

    def mint_program(self, mint: Pubkey) -> Pubkey:
        found = self.account(mint)
        assert found is not None and found.owner in TOKEN_PROGRAMS, f"no mint {mint}"
        return found.owner

    def mint_decimals(self, mint: Pubkey) -> int | None:
        found = self.account(mint)
        if found is None or found.owner not in TOKEN_PROGRAMS or len(found.data) < MINT_LEN:
            return None
        return Mint.from_bytes(bytes(found.data[:MINT_LEN])).decimals

    def create_lookup_table(self, addresses: list[Pubkey]) -> Pubkey:
        """An active address lookup table (v0 messages may index into it)."""
        key = Keypair().pubkey()
        meta = struct.pack("<IQQBB32sH", 1, 2**64 - 1, 0, 0, 0, bytes(32), 0)
        self._put(key, meta + b"".join(bytes(a) for a in addresses), ALT_PROGRAM)
        return key

    def lookup_table(self, key: Pubkey) -> list[Pubkey]:
        found = self.account(key)
        assert found is not None and found.owner == ALT_PROGRAM, f"no lookup table {key}"
        return list(AddressLookupTable.deserialize(bytes(found.data)).addresses)

    def deploy_stub(self, program_id: Pubkey, return_code: int = 0) -> None:
        with self.lock:
            if self._programs.get(str(program_id)) != return_code:
                self.svm.add_program(program_id, stub_program(return_code))
                self._programs[str(program_id)] = return_code

    def _put(self, address: Pubkey, data: bytes, owner: Pubkey, extra: int = 0) -> None:
        with self.lock:
            rent = self.svm.minimum_balance_for_rent_exemption(len(data))
            self.svm.set_account(address, Account(rent + extra, data, owner, False, 0))

    # -- transactions ------------------------------------------------------------------
    def resolve_keys(self, message: Any) -> tuple[list[str], list[str], list[str]]:
        """(static keys, loaded writable, loaded readonly) — the order balances are indexed."""
        static = [str(k) for k in message.account_keys]
        writable: list[str] = []
        readonly: list[str] = []
        for lookup in getattr(message, "address_table_lookups", None) or []:
            table = self.lookup_table(lookup.account_key)
            writable += [str(table[i]) for i in bytes(lookup.writable_indexes)]
            readonly += [str(table[i]) for i in bytes(lookup.readonly_indexes)]
        return static, writable, readonly

    def execute(self, raw: bytes) -> Landed | None:
        """Run signed bytes on the SVM; None when a cluster would drop them unprocessed."""
        with self.lock:
            tx = VersionedTransaction.from_bytes(raw)
            signature = str(tx.signatures[0])
            if signature in self.landed:
                return self.landed[signature]
            static, writable, readonly = self.resolve_keys(tx.message)
            keys = static + writable + readonly
            hook = self.hooks.get(bytes(tx.message), Hook())
            hook.before()
            pre = self.snapshot(keys)
            result = self.svm.send_transaction(tx)
            err = None
            if isinstance(result, FailedTransactionMetadata):
                err = json.loads(result.to_json())["err"]
                if _error_name(err) in NOT_LANDED:
                    return None
                meta = result.meta()
            else:
                meta = result
                hook.after()
            landed = Landed(signature, self._height, raw, keys, (writable, readonly), meta, err,
                            pre, self.snapshot(keys))
            self.landed[signature] = landed
            self.held.pop(signature, None)
            return landed

    def submit(self, raw: bytes) -> str:
        """``sendTransaction``: lands at once, or is held (in flight) when ``land`` is off."""
        signature = str(VersionedTransaction.from_bytes(raw).signatures[0])
        with self.lock:
            if self.land:
                self.execute(raw)
            elif signature not in self.landed:
                self.held[signature] = raw
        return signature

    def land_now(self, signature: str) -> Landed | None:
        with self.lock:
            return self.execute(self.held[signature])

    def snapshot(self, keys: list[str]) -> list[Snapshot]:
        return [Snapshot(self.lamports(Pubkey.from_string(k)),
                         self.token_state(Pubkey.from_string(k))) for k in keys]


def _error_name(err: Any) -> str:
    return err if isinstance(err, str) else next(iter(err)) if isinstance(err, dict) else ""


def encode_message(message: Any) -> dict[str, Any]:
    """The ``transaction.message`` of a json-encoded ``getTransaction``."""
    header = message.header
    body: dict[str, Any] = {
        "accountKeys": [str(k) for k in message.account_keys],
        "header": {"numRequiredSignatures": header.num_required_signatures,
                   "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
                   "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts},
        "recentBlockhash": str(message.recent_blockhash),
        "instructions": [{"programIdIndex": ix.program_id_index, "accounts": list(ix.accounts),
                          "data": b58encode(bytes(ix.data)), "stackHeight": None}
                         for ix in message.instructions]}
    if isinstance(message, MessageV0):
        body["addressTableLookups"] = [
            {"accountKey": str(lookup.account_key),
             "writableIndexes": list(bytes(lookup.writable_indexes)),
             "readonlyIndexes": list(bytes(lookup.readonly_indexes))}
            for lookup in message.address_table_lookups]
    return body
