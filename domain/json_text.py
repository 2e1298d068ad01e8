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
from decimal import Decimal
from typing import Any


def loads_exact(text: str | bytes | bytearray, *, constants_as_text: bool = False) -> Any:
    """The JSON value with every fractional number a ``Decimal``; ``constants_as_text`` keeps
    ``NaN``/``Infinity`` as strings so that a numeric field fails its validation on them.
    Raises ``ValueError`` (naming the cause) for every text that is not such JSON."""
    try:
        if constants_as_text:
            return json.loads(text, parse_float=Decimal, parse_constant=str)
        return json.loads(text, parse_float=Decimal)
    except (RecursionError, ArithmeticError) as exc:
        cause = "nested too deep" if isinstance(exc, RecursionError) else "a number out of range"
        raise ValueError(f"not valid JSON: {cause}") from None


def unstorable(text: str) -> bool:
    """Whether ``text`` holds what PostgreSQL cannot store in TEXT or JSONB: NUL, or a lone
    surrogate (which is not a character of any encoding)."""
    return "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text)
