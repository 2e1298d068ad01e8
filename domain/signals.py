"""Signals in (docs/rules.md §1): the ``Signal`` value and strict parsing of the wire format.

Strings are trimmed, as the reference engine does: a blank optional string is null, a blank
required one is missing, and lengths are those of the trimmed text. ``signal_type`` is trimmed
before anything reads it, so ``" sell "`` is the exit type ``sell``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from domain.base58 import is_public_key
from domain.errors import InvalidSignal
from domain.json_text import unstorable

# docs/rules.md §1: a trader-readable note never needs more than this.
MAX_ACTIVATION_REASON = 2000


@dataclass(frozen=True, slots=True)
class Signal:
    token_address: str
    signal_type: str
    signal_strength: int
    symbol: str | None = None
    activation_reason: str | None = None
    source: str | None = None
    idempotency_key: str | None = None
    user_id: uuid.UUID | None = None
    # A manual buy (``fleet trades buy``, docs/rules.md §3): the one agent it is for and the
    # SOL it spends (None: the agent's rules size it). Never read from a provider's payload.
    agent_id: uuid.UUID | None = None
    amount_sol: Decimal | None = None
    # Whether a type enters or exits is the deployment's vocabulary (domain/vocabulary.py),
    # not the signal's: ask ``vocabulary.is_exit(signal.signal_type)``.

    @property
    def manual(self) -> bool:
        """An operator's buy for one agent: eligibility rules 3–6 (docs/rules.md §2) and the
        DCA rules do not apply to it."""
        return self.agent_id is not None


def _text(field: str, raw: object, max_len: int) -> str:
    if not isinstance(raw, str):
        raise InvalidSignal(field, f"must be a string, got {type(raw).__name__}")
    value = raw.strip()
    if not value:
        raise InvalidSignal(field, "must not be empty")
    if len(value) > max_len:
        raise InvalidSignal(field, f"must be at most {max_len} characters, got {len(value)}")
    if unstorable(value):
        # PostgreSQL cannot store either; refusing here keeps one bad message from failing
        # the whole batch it arrived in.
        raise InvalidSignal(field, "must not contain NUL characters or lone surrogates")
    return value


def _token_address(value: object) -> str:
    text = _text("token_address", value, 44)
    if not is_public_key(text):
        raise InvalidSignal("token_address", "must be a base58 Solana public key (32 bytes)")
    return text


def _strength(value: object) -> int:
    """A JSON integer 1..100. A number with an integral value (``50.0``, ``5e1``) is that
    integer, as JSON Schema reads ``type: integer`` (so the HTTP API's schema and its server
    agree); ``50.5``, ``"50"`` and ``true`` are refused."""
    if isinstance(value, bool) or not _integral(value):
        raise InvalidSignal("signal_strength", "must be a JSON integer")
    number = cast("int | float | Decimal", value)
    if not 1 <= number <= 100:  # compared before int(): 1E+999999 never becomes an int
        raise InvalidSignal("signal_strength", f"must be 1..100, got {value}")
    return int(number)


def _integral(value: object) -> bool:
    if isinstance(value, int):
        return True
    if isinstance(value, Decimal):
        return value.is_finite() and value == value.to_integral_value()
    return isinstance(value, float) and value.is_integer()


def _user_id(value: object) -> uuid.UUID:
    if not isinstance(value, str):
        raise InvalidSignal("user_id", "must be a UUID string")
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise InvalidSignal("user_id", f"must be a UUID, got {value!r}") from None


_REQUIRED: dict[str, Callable[[object], object]] = {
    "token_address": _token_address,
    "signal_type": lambda v: _text("signal_type", v, 50),
    "signal_strength": _strength,
}
_OPTIONAL: dict[str, Callable[[object], object]] = {
    "symbol": lambda v: _text("symbol", v, 50),
    "activation_reason": lambda v: _text("activation_reason", v, MAX_ACTIVATION_REASON),
    "source": lambda v: _text("source", v, 100),
    "idempotency_key": lambda v: _text("idempotency_key", v, 128),
    "user_id": _user_id,
}


def absent(value: object) -> bool:
    """Null, or a string that is empty once trimmed: an optional field not given (ingestors
    key a payload whose ``idempotency_key`` is absent by its message or task id)."""
    return value is None or (isinstance(value, str) and not value.strip())


def parse_signal(payload: Mapping[str, object]) -> Signal:
    """Validate a decoded JSON payload; raises ``InvalidSignal(field, reason)`` naming the
    first bad field. Unknown fields are rejected; optional fields may be absent, null or blank
    (all three stored as null); every string is trimmed."""
    if not isinstance(payload, Mapping):
        raise InvalidSignal("payload", "must be a JSON object")
    for key in sorted(map(str, payload)):
        if key not in _REQUIRED and key not in _OPTIONAL:
            raise InvalidSignal(key, "unknown field")
    values: dict[str, object] = {}
    for key, check in _REQUIRED.items():
        if payload.get(key) is None:
            raise InvalidSignal(key, "is required")
        values[key] = check(payload[key])
    for key, check in _OPTIONAL.items():
        if not absent(payload.get(key)):
            values[key] = check(payload[key])
    return Signal(**values)  # type: ignore[arg-type]
