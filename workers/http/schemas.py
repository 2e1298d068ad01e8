"""The wire shapes of the HTTP API, for responses and the OpenAPI document.

The request body is not parsed by pydantic: the domain parser (docs/rules.md §1) is the one source
of truth for what a valid signal is. Its JSON Schema here documents the same rules.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from domain.signals import MAX_ACTIVATION_REASON


def _text(max_len: int, *, nullable: bool = True) -> dict[str, Any]:
    """Strings are trimmed; a blank optional one is stored as null."""
    if nullable:
        return {"type": ["string", "null"], "maxLength": max_len}
    return {"type": "string", "minLength": 1, "maxLength": max_len}


SIGNAL_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["token_address", "signal_type", "signal_strength"],
    "properties": {
        "token_address": {"type": "string", "minLength": 32, "maxLength": 44,
                          "pattern": "^[1-9A-HJ-NP-Za-km-z]+$",
                          "description": "a base58 Solana public key (the token's mint)"},
        "signal_type": {**_text(50, nullable=False),
                        "description": "`sell` (any case) is an exit signal; anything else "
                                       "is an entry signal"},
        "signal_strength": {"type": "integer", "minimum": 1, "maximum": 100,
                            "description": "a JSON integer; `50.0` and `\"50\"` are refused"},
        "symbol": _text(50),
        "activation_reason": _text(MAX_ACTIVATION_REASON),
        "source": _text(100),
        "idempotency_key": {**_text(128),
                            "description": "a repeated key answers 409 with the existing id"},
        "user_id": {"type": ["string", "null"], "format": "uuid",
                    "description": "only this user's agents receive the signal"},
    },
    "example": {"token_address": "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263",
                "signal_type": "buy", "signal_strength": 80, "symbol": "BONK",
                "source": "my-provider", "idempotency_key": "my-provider:2026-01-01:42"},
}

REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": SIGNAL_REQUEST_SCHEMA}},
    }
}


class SignalOut(BaseModel):
    id: int
    status: str
    token_address: str
    signal_type: str
    signal_strength: int
    symbol: str | None = None
    activation_reason: str | None = None
    source: str | None = None
    idempotency_key: str | None = None
    user_id: uuid.UUID | None = None
    received_at: datetime


class FieldError(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    detail: str


class Duplicate(BaseModel):
    detail: str
    id: int


class Health(BaseModel):
    status: str


def _problem(description: str, model: type[BaseModel] = Problem,
             headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"model": model, "description": description}
    if headers:
        out["headers"] = headers
    return out


_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait",
                                "schema": {"type": "integer"}}}

RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem("invalid body: names the field and the reason", FieldError),
    401: _problem("missing, unknown or revoked X-API-Key"),
    403: _problem("the key lacks the `signals` scope"),
    409: _problem("the idempotency_key was used before: the existing signal's id", Duplicate),
    413: _problem("the body is too large", FieldError),
    429: _problem("rate limit reached", headers=_RETRY_AFTER),
    503: _problem("database or Redis unavailable; retry", headers=_RETRY_AFTER),
}
