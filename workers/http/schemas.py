"""The wire shapes of the HTTP API's answers, for responses and the OpenAPI document (the
request body's model, which is also its schema, is ``workers.http.request``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel


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
