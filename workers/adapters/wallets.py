"""Live wallets from the environment (``WALLET_1``, ``WALLET_2``, …), held in memory only.

Accepted values: a base58 64-byte secret key, a base58 32-byte seed, or a JSON array of 64
integers (0–255). A bad value is reported by its variable name only ("WALLET_3: not a valid
key") and skipped; a key loaded twice is reported and the later variable skipped.

Nothing here ever prints a key: :class:`Wallet` shows only its address, refuses pickling, and
errors never carry the value. :func:`redaction_strings` gives a log processor the text forms
of every loaded secret so it can scrub them if one ever leaks into a log line.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import structlog
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from domain.base58 import b58decode, b58encode
from domain.errors import NotFound, PermanentError

log = structlog.get_logger(__name__)

_WALLET_VAR = re.compile(r"WALLET_(\d+)")


@dataclass(frozen=True)
class SignedTransaction:
    raw: bytes
    signature: str


class Wallet:
    """A loaded keypair. ``str``/``repr`` show only the address; pickling is refused."""

    __slots__ = ("_address", "_keypair")

    def __init__(self, keypair: Keypair) -> None:
        self._keypair = keypair
        self._address = str(keypair.pubkey())

    @property
    def address(self) -> str:
        return self._address

    @property
    def pubkey(self) -> Pubkey:
        return self._keypair.pubkey()

    def __repr__(self) -> str:
        return f"Wallet({self._address})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Wallet) and other._address == self._address

    def __hash__(self) -> int:
        return hash(self._address)

    def __getstate__(self) -> NoReturn:
        raise TypeError("a Wallet holds a secret key and cannot be pickled or copied")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        self.__getstate__()

    def sign_transaction(self, unsigned_tx_b64: str) -> SignedTransaction:
        """Sign a base64 unsigned ``VersionedTransaction`` (as Jupiter's ``/swap`` returns)."""
        unsigned = _decode_transaction(unsigned_tx_b64)
        if unsigned is None:
            raise PermanentError("swap transaction is not a valid versioned transaction")
        signed = _sign(unsigned, self._keypair)
        if signed is None:  # raised outside the except: no chained solders error
            raise PermanentError(f"transaction cannot be signed by wallet {self._address} "
                                 "(wrong signer or signer count)")
        return SignedTransaction(raw=bytes(signed), signature=str(signed.signatures[0]))


def _decode_transaction(unsigned_tx_b64: str) -> VersionedTransaction | None:
    try:
        return VersionedTransaction.from_bytes(base64.b64decode(unsigned_tx_b64, validate=True))
    except (binascii.Error, ValueError, TypeError):
        return None


def _sign(unsigned: VersionedTransaction, keypair: Keypair) -> VersionedTransaction | None:
    try:
        return VersionedTransaction(unsigned.message, [keypair])
    except Exception:  # solders.SignerError is not a ValueError
        return None


class WalletRegistry:
    """The wallets loaded at start, by address, plus the problems found while loading."""

    def __init__(self, wallets: Mapping[str, Wallet], sources: Mapping[str, str],
                 problems: tuple[str, ...]) -> None:
        self._wallets = dict(wallets)
        self._sources = dict(sources)
        self.problems = problems

    def __repr__(self) -> str:
        return f"WalletRegistry(addresses={self.addresses()!r}, problems={len(self.problems)})"

    def __len__(self) -> int:
        return len(self._wallets)

    def __contains__(self, address: object) -> bool:
        return address in self._wallets

    def __iter__(self) -> Iterator[Wallet]:
        return iter(self._wallets.values())

    def addresses(self) -> list[str]:
        return list(self._wallets)

    def get(self, address: str) -> Wallet:
        wallet = self._wallets.get(address)
        if wallet is None:  # never echo the value: a pasted 32-byte seed looks like an address
            raise NotFound("wallet_address", "no loaded wallet (WALLET_n) has this address")
        return wallet

    def source(self, address: str) -> str:
        """The variable a wallet came from (e.g. ``WALLET_2``)."""
        self.get(address)
        return self._sources[address]


def _keypair_from_text(text: str) -> Keypair | None:
    """Parse one value; None when invalid. Never raises (a traceback would show locals)."""
    try:
        text = text.strip()
        if text.startswith("["):
            numbers = json.loads(text)
            if not (isinstance(numbers, list) and len(numbers) == 64 and all(
                    type(n) is int and 0 <= n <= 255 for n in numbers)):
                return None
            return Keypair.from_bytes(bytes(numbers))
        raw = b58decode(text)
        if len(raw) == 64:
            return Keypair.from_bytes(raw)
        return Keypair.from_seed(raw) if len(raw) == 32 else None
    except Exception:
        return None


def _wallet_variables(environ: Mapping[str, str]) -> list[tuple[int, str]]:
    found = []
    for name in environ:
        match = _WALLET_VAR.fullmatch(name)
        if match:
            found.append((int(match.group(1)), name))
    return sorted(found)


def load_wallets(environ: Mapping[str, str]) -> WalletRegistry:
    """Load every ``WALLET_<n>`` variable in index order; problems are named by variable."""
    wallets: dict[str, Wallet] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    for _, name in _wallet_variables(environ):
        keypair = _keypair_from_text(environ[name])
        if keypair is None:
            problems.append(f"{name}: not a valid key")
            continue
        wallet = Wallet(keypair)
        if wallet.address in wallets:
            problems.append(f"{name}: duplicate of {sources[wallet.address]}; skipped")
            continue
        wallets[wallet.address] = wallet
        sources[wallet.address] = name
    for problem in problems:
        log.warning("wallets.problem", problem=problem)
    log.info("wallets.loaded", count=len(wallets), addresses=list(wallets))
    return WalletRegistry(wallets, sources, tuple(problems))


def redaction_strings(registry: WalletRegistry) -> set[str]:
    """Every text form of every loaded secret, for a log-redaction processor: base58 of the
    64-byte secret and of the 32-byte seed, the JSON array (compact and spaced), hex, and the
    Python ``bytes`` reprs."""
    strings: set[str] = set()
    for wallet in registry:
        secret = bytes(wallet._keypair)
        seed = secret[:32]
        numbers = list(secret)
        strings.update({
            b58encode(secret), b58encode(seed), json.dumps(numbers),
            json.dumps(numbers, separators=(",", ":")), secret.hex(), seed.hex(),
            repr(secret), repr(seed)})
    return strings
