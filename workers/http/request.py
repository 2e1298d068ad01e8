"""The request body of ``POST /v1/signals``: one strict pydantic model, built for the
deployment's vocabulary, is both what the server enforces and the OpenAPI schema (generated
from it), so the two cannot disagree.

Every rule of docs/rules.md §1 that JSON Schema can state is in the model, as the raw wire
value: strings are trimmed by the parser, so each pattern admits surrounding whitespace and
bounds the *trimmed* length; NUL is excluded; ``signal_type`` matches the
vocabulary in upper or lower case (the model is the gate: a type the vocabulary would fold
from another character, such as the Kelvin sign, is refused by both schema and server). The
one rule a pattern cannot state, that ``token_address`` decodes to exactly 32 bytes, is the
model's validator and the schema's ``format: solana-address``. Patterns are evaluated with
Python's ``re`` (``\\s`` is exactly what ``str.strip`` removes). A body the model accepts
always parses; the domain parser then builds the signal and words every refusal it shares
with the model.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
)

from domain.base58 import is_public_key
from domain.errors import InvalidSignal
from domain.signals import MAX_ACTIVATION_REASON, Signal
from domain.vocabulary import Vocabulary
from workers.handlers.signals.ingest import read_signal

SOLANA_ADDRESS = "solana-address"
# Storable: no NUL. (Lone surrogates, which no UTF-8 text holds and which no portable pattern
# can name, are the parser's to refuse: a JSON body can only carry one as a `\ud800` escape.)
_CHAR = r"[^\x00]"
_EDGE = r"[^\s\x00]"  # ... and not whitespace: the first and last character of the text


def trimmed_text(max_len: int, *, optional: bool) -> str:
    """Text whose trimmed form is 1..max_len storable characters (or blank, if optional)."""
    body = f"{_EDGE}(?:{_CHAR}{{0,{max_len - 2}}}{_EDGE})?"
    return rf"^\s*{f'(?:{body})?' if optional else body}\s*$"


TOKEN_ADDRESS = r"^\s*[1-9A-HJ-NP-Za-km-z]{32,44}\s*$"
_HEX = "[0-9a-fA-F]"
USER_ID = rf"^\s*(?:{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}})?\s*$"


_SPECIAL = set(r".^$*+?{}[]\|()/-")


def _literal(char: str) -> str:
    """``char`` escaped only where a regex needs it (valid in Python and ECMA-262 alike)."""
    return "\\" + char if char in _SPECIAL else char


def _any_case(char: str) -> str:
    """``char`` (a lower-case vocabulary character) in either case, as a pattern."""
    forms = sorted({f for f in (char, char.upper()) if len(f) == 1 and f.lower() == char})
    return _literal(char) if len(forms) == 1 else "[" + "".join(map(_literal, forms)) + "]"


def vocabulary_pattern(vocabulary: Vocabulary) -> str:
    """``signal_type``: one of the vocabulary's types in any case (any storable text but
    an exit when the entries are ``*``), surrounding whitespace allowed."""
    if vocabulary.any_entry:
        return trimmed_text(50, optional=False)
    kinds = (*vocabulary.entry, *vocabulary.exit)
    return r"^\s*(?:" + "|".join("".join(map(_any_case, k)) for k in kinds) + r")\s*$"


def _public_key(value: str) -> str:
    if not is_public_key(value.strip()):
        raise ValueError("must be a base58 Solana public key (32 bytes)")
    return value


def _integral_number(value: Any) -> Any:
    """``50.0`` is the integer 50, as JSON Schema's ``integer`` reads it (a huge number stays
    as it is, refused as out of range without building its integer)."""
    if isinstance(value, Decimal):  # copy_abs: no rounding, so no Overflow at any exponent
        small = value.is_finite() and value.copy_abs() < 1_000_000
    else:
        small = isinstance(value, float) and math.isfinite(value) and abs(value) < 1_000_000
    if small and value == int(value):
        return int(value)
    return value


def _text(max_len: int, description: str) -> Any:
    return (str | None, Field(None, pattern=trimmed_text(max_len, optional=True),
                              description=description))


def signal_request(vocabulary: Vocabulary) -> type[BaseModel]:
    """The request model for ``vocabulary``."""
    return create_model(
        "SignalIn",
        __config__=ConfigDict(extra="forbid", strict=True, regex_engine="python-re",
                              json_schema_extra={"example": EXAMPLE}),
        token_address=(Annotated[str, AfterValidator(_public_key)], Field(
            pattern=TOKEN_ADDRESS, json_schema_extra={"format": SOLANA_ADDRESS},
            description="the token's mint: base58 of exactly 32 bytes")),
        signal_type=(str, Field(
            pattern=vocabulary_pattern(vocabulary),
            description=f"the deployment's vocabulary, any case: {vocabulary.accepted()}")),
        signal_strength=(Annotated[int, BeforeValidator(_integral_number)], Field(
            ge=1, le=100, description="a JSON integer (`50.0` is 50); `50.5` and `\"50\"` "
                                      "are refused")),
        symbol=_text(50, "up to 50 characters"),
        activation_reason=_text(MAX_ACTIVATION_REASON, "why the provider signals"),
        source=_text(100, "the provider's name"),
        idempotency_key=_text(128, "unique per caller: a repeat answers 409 with the "
                                   "existing signal's id"),
        user_id=(str | None, Field(None, pattern=USER_ID, description=(
            "a UUID: your key's own user (the default), or, with the `admin` scope, any "
            "existing user"))),
    )


EXAMPLE: dict[str, Any] = {"token_address": "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263",
           "signal_type": "buy", "signal_strength": 80, "symbol": "BONK",
           "source": "my-provider", "idempotency_key": "my-provider:2026-01-01:42"}


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of the route, from the model."""
    schema = model.model_json_schema()
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": schema}}}}


_REASONS = {
    "missing": "is required", "extra_forbidden": "unknown field",
    "string_type": "must be a string", "int_type": "must be a JSON integer",
    "greater_than_equal": "must be 1..100", "less_than_equal": "must be 1..100",
}
_PATTERN_REASONS = {
    "token_address": "must be a base58 Solana public key (32 bytes)",
    "user_id": "must be a UUID (8-4-4-4-12 hexadecimal digits)",
}


def read_signal_body(payload: Any, model: type[BaseModel], vocabulary: Vocabulary) -> Signal:
    """The signal of a decoded body, or ``InvalidSignal`` naming the field. The model decides
    (it is the schema); the domain parser words the refusal whenever it refuses too."""
    if not isinstance(payload, dict):
        raise InvalidSignal("payload", "must be a JSON object")
    try:
        model.model_validate(payload)
    except ValidationError as exc:
        read_signal(payload, vocabulary)  # raises first, in the domain's words, if it refuses
        raise _refusal(exc.errors()[0], vocabulary) from None
    return read_signal(payload, vocabulary)


def _refusal(error: Any, vocabulary: Vocabulary) -> InvalidSignal:
    field = str(error["loc"][0]) if error["loc"] else "payload"
    kind = error["type"]
    if kind == "string_pattern_mismatch":
        reason = _PATTERN_REASONS.get(field) or (
            f"{error['input']!r} is not a signal type here; accepted: {vocabulary.accepted()}"
            if field == "signal_type" else "too long, or holds a NUL character")
    else:
        reason = _REASONS.get(kind) or str(error["msg"]).removeprefix("Value error, ")
    return InvalidSignal(field, reason)
