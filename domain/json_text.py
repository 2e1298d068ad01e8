"""JSON text read with exact numbers, failing one way only.

``json.loads`` with ``parse_float=Decimal`` has more failure modes than ``ValueError``: a
nesting too deep raises ``RecursionError`` and a number past what ``Decimal`` can hold
(``1e9999999999999999999999``) raises ``decimal.InvalidOperation``. Every reader of outside
JSON (the HTTP and stream ingestors, operators' config files, the price feeds) goes through
:func:`loads_exact`, so each of them refuses such a text with its own clear error instead of
crashing on the one it did not think of.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

REPEATED = "repeated: a JSON object may name each field once"


class RepeatedKey(ValueError):
    """A JSON object naming ``key`` twice (which ``json.loads`` would silently let the last
    one win); a signal carrying one is refused naming the key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"{key!r} {REPEATED}")
        self.key = key


class JsonObject(dict[str, Any]):
    """A decoded JSON object that remembers the first key it named twice, for decoders that
    must not raise (the task queue's: a message that fails to decode is lost, not
    dead-lettered)."""

    repeated_key: str | None = None


def unique_object(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` refusing a repeated key."""
    out = dict(pairs)
    if len(out) != len(pairs):
        raise RepeatedKey(_first_repeated(pairs))
    return out


def marking_object(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` marking a repeated key on the object instead."""
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    marked = JsonObject(out)
    marked.repeated_key = _first_repeated(pairs)
    return marked


def repeated_key(value: object) -> str | None:
    """The first key a decoded object named twice, if it was decoded by ``marking_object``."""
    return value.repeated_key if isinstance(value, JsonObject) else None


def with_default(obj: Mapping[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A copy of a decoded object with ``key`` set to ``value`` where it is missing, null or
    a blank string (an absent optional field), keeping the object's repeated-key mark."""
    out = JsonObject(obj)
    out.repeated_key = repeated_key(obj)
    given = out.get(key)
    if given is None or (isinstance(given, str) and not given.strip()):
        out[key] = value
    return out


def _first_repeated(pairs: Sequence[tuple[str, Any]]) -> str:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return key
        seen.add(key)
    raise AssertionError("no repeated key")


def loads_exact(text: str | bytes | bytearray, *, constants_as_text: bool = False,
                unique_keys: bool = False) -> Any:
    """The JSON value with every fractional number a ``Decimal``; ``constants_as_text`` keeps
    ``NaN``/``Infinity`` as strings so that a numeric field fails its validation on them;
    ``unique_keys`` raises :class:`RepeatedKey` for an object naming a key twice.
    Raises ``ValueError`` (naming the cause) for every text that is not such JSON."""
    hook = unique_object if unique_keys else None
    try:
        if constants_as_text:
            return json.loads(text, parse_float=Decimal, parse_constant=str,
                              object_pairs_hook=hook)
        return json.loads(text, parse_float=Decimal, object_pairs_hook=hook)
    except (RecursionError, ArithmeticError) as exc:
        cause = "nested too deep" if isinstance(exc, RecursionError) else "a number out of range"
        raise ValueError(f"not valid JSON: {cause}") from None


def unstorable(text: str) -> bool:
    """Whether ``text`` holds what PostgreSQL cannot store in TEXT or JSONB: NUL, or a lone
    surrogate (which is not a character of any encoding)."""
    return "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text)
