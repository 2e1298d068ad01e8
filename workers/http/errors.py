"""Typed errors → HTTP answers: 400 names the field, 401/403/409/413/429/503 explain."""

from __future__ import annotations

import redis
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from domain.errors import InvalidInput, TransientError
from workers.handlers.operators.keys import Forbidden, Unauthenticated
from workers.http.outage import redis_unavailable
from workers.metrics import signal_rejected

log = structlog.get_logger(__name__)
UNAVAILABLE_RETRY_AFTER = 5


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limit reached; retry in {retry_after}s")
        self.retry_after = retry_after


class Duplicate(Exception):
    def __init__(self, signal_id: int) -> None:
        super().__init__(f"duplicate of signal {signal_id}")
        self.signal_id = signal_id


class TooLarge(Exception):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"the body is larger than {max_bytes} bytes")
        self.max_bytes = max_bytes


def _safe(text: str) -> str:
    """Echoed text that always encodes (a lone surrogate in a field name stays escaped)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")[:300]


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidInput)
    if request.url.path == "/v1/signals":
        signal_rejected("http", exc.field)
    return JSONResponse({"field": _safe(exc.field), "reason": _safe(exc.reason)}, 400)


async def _unauthenticated(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, 401, headers={"WWW-Authenticate": "ApiKey"})


async def _forbidden(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, 403)


async def _duplicate(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Duplicate)
    return JSONResponse({"detail": "a signal with this idempotency_key exists",
                         "id": exc.signal_id}, 409)


async def _too_large(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"field": "payload", "reason": str(exc)}, 413)


async def _rate_limited(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    return JSONResponse({"detail": str(exc)}, 429,
                        headers={"Retry-After": str(exc.retry_after)})


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    log.warning("http.unavailable", error=type(exc).__name__)
    return JSONResponse({"detail": "a backing service is unavailable; retry shortly"}, 503,
                        headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(InvalidInput, _invalid)
    app.add_exception_handler(Unauthenticated, _unauthenticated)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(Duplicate, _duplicate)
    app.add_exception_handler(TooLarge, _too_large)
    app.add_exception_handler(RateLimited, _rate_limited)
    app.add_exception_handler(TransientError, _unavailable)
    app.add_exception_handler(redis.RedisError, redis_unavailable)
