"""Browser sessions of the dashboard: signed in with an API key holding the ``read`` scope.

The cookie holds only a random session id (httpOnly, SameSite=Strict, Secure over https); the
session itself lives in Redis under the id's SHA-256 with a sliding TTL and records the key's
id, user and scopes, never the key. Each request re-reads it (logout or expiry ends it at
once) and re-checks that the key is still unrevoked. The POST forms (sign-in, logout) carry a
CSRF token: the session's own once signed in, and before that a double-submit token in a
SameSite=Strict cookie of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass

from fastapi import Request, Response
from redis import Redis

from persistence import models as m
from workers.handlers.operators.keys import Principal
from workers.http.auth import Gate

COOKIE = "sf_session"
LOGIN_CSRF_COOKIE = "sf_login_csrf"
TTL_SECONDS = 8 * 3600
_PREFIX = "sf:dashboard:session:"


class SignInRequired(Exception):
    """No valid session: the page redirects to the sign-in form."""


class BadCsrf(Exception):
    """A POST form without the token it was given."""


@dataclass(frozen=True)
class WebSession:
    principal: Principal
    csrf: str

    @property
    def scope(self) -> uuid.UUID | None:
        """The user whose agents this session sees; None (every user) for an admin key."""
        return None if self.principal.is_admin else self.principal.user_id


def _key(session_id: str) -> str:
    return _PREFIX + hashlib.sha256(session_id.encode()).hexdigest()


def _redis(request: Request) -> Redis:
    gate: Gate = request.app.state.gate
    client: Redis = gate.container.redis
    return client


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def start(request: Request, response: Response, principal: Principal) -> None:
    session_id = secrets.token_urlsafe(32)
    record = {"key_id": str(principal.key_id), "user_id": str(principal.user_id),
              "scopes": list(principal.scopes), "csrf": secrets.token_urlsafe(32)}
    _redis(request).set(_key(session_id), json.dumps(record), ex=TTL_SECONDS)
    response.set_cookie(COOKIE, session_id, max_age=TTL_SECONDS, httponly=True,
                        samesite="strict", secure=_secure(request), path="/dashboard")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/dashboard")


def current(request: Request) -> WebSession:
    """The request's session (its TTL renewed); SignInRequired when there is none."""
    session_id = request.cookies.get(COOKIE)
    if not session_id or len(session_id) > 100:
        raise SignInRequired
    client = _redis(request)
    raw: str | bytes | None = client.get(_key(session_id))  # type: ignore[assignment]
    if raw is None:
        raise SignInRequired
    client.expire(_key(session_id), TTL_SECONDS)
    data = json.loads(raw)
    principal = Principal(uuid.UUID(data["key_id"]), uuid.UUID(data["user_id"]),
                          tuple(data["scopes"]))
    if not _key_usable(request, principal.key_id):
        client.delete(_key(session_id))
        raise SignInRequired
    return WebSession(principal, data["csrf"])


def _key_usable(request: Request, key_id: uuid.UUID) -> bool:
    gate: Gate = request.app.state.gate
    with gate.container.session_factory() as db:
        row = db.get(m.ApiKey, key_id)
        return row is not None and row.revoked_at is None


def end(request: Request, response: Response) -> None:
    session_id = request.cookies.get(COOKIE)
    if session_id:
        _redis(request).delete(_key(session_id))
    response.delete_cookie(COOKIE, path="/dashboard", httponly=True, samesite="strict",
                           secure=_secure(request))


def login_token(request: Request) -> str:
    """The sign-in form's token: the one in the browser's cookie, or a new one."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE)
    return token if token and len(token) <= 100 else secrets.token_urlsafe(32)


def keep_login_token(request: Request, response: Response, token: str) -> None:
    """Double-submit: the form's token also rides in a SameSite=Strict cookie."""
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True,
                        samesite="strict", secure=_secure(request), path="/dashboard")


def check_csrf(expected: str | None, presented: str | None) -> None:
    if not expected or not presented or not hmac.compare_digest(expected, presented):
        raise BadCsrf
