"""API-key authentication for every route of the HTTP app, as one reusable dependency.

A route declares what it needs with ``Depends(require_scope("read"))`` (or ``"signals"``,
``"admin"``) and receives the caller's :class:`Principal`. The dependency authenticates the
``X-API-Key`` header (SHA-256 lookup, constant-time compare), checks the scope (``admin``
holds every scope), and counts the request against the key's rate limit: 401 for a missing,
unknown or revoked key, 403 for a missing scope, 429 past the limit.

``create_app`` installs the :class:`Gate` (the deps + limiter) on ``app.state.gate``; a router
of another module needs nothing but this module.

No ``from __future__ import annotations`` here: FastAPI reads the dependency's annotations at
runtime.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import FastAPI, Request, Security
from fastapi.security import APIKeyHeader

from workers.bootstrap import Container
from workers.handlers.operators.keys import SCOPES, Forbidden, Principal, authenticate
from workers.handlers.shared.deps import Deps
from workers.http.errors import RateLimited
from workers.http.ratelimit import RateLimiter

API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False,
                       description="a key from `fleet keys create --scope signals|read|admin`")


@dataclass(frozen=True)
class Gate:
    container: Container  # the process's infrastructure (read API, metrics)
    deps: Deps  # the use cases' ports (tests may replace some)
    limiter: RateLimiter

    def authorize(self, presented: str | None, scope: str) -> Principal:
        rt = self.deps
        principal = authenticate(rt.uow(), rt.clock, presented, scope)
        verdict = self.limiter.hit(str(principal.key_id), rt.clock.now().timestamp())
        if not verdict.allowed:
            raise RateLimited(verdict.retry_after)
        return principal


def install_gate(app: FastAPI, gate: Gate) -> None:
    app.state.gate = gate


def require_scope(scope: str) -> Callable[..., Principal]:
    """A FastAPI dependency answering the caller's principal if its key holds ``scope``."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; known: {', '.join(SCOPES)}")

    def principal(request: Request,
                  key: Annotated[str | None, Security(API_KEY)]) -> Principal:
        gate: Gate = request.app.state.gate
        return gate.authorize(key, scope)

    principal.__name__ = f"require_scope_{scope}"
    return principal


def signal_owner(principal: Principal, requested: uuid.UUID | None) -> uuid.UUID:
    """Whose signal an HTTP caller may send: its key's user; another user only with ``admin``
    (403 otherwise). The HTTP channel never sends a signal to every user."""
    if requested is None or requested == principal.user_id:
        return principal.user_id
    if not principal.is_admin:
        raise Forbidden("user_id names another user: this API key may only signal its own "
                        "user's agents (omit user_id, or use a key with the `admin` scope)")
    return requested
