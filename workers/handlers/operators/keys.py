"""Use cases of API keys: create (the key is returned once and never stored), list, revoke,
authenticate a presented key for a scope."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from domain.errors import DomainError, InvalidInput, NotFound
from domain.ports import Clock, UnitOfWork

log = structlog.get_logger(__name__)
KEY_PREFIX = "sf_"
PREFIX_LENGTH = 8
# `signals`: push signals for the key's own user; `read`: the read endpoints; `metrics`:
# GET /metrics (fleet-wide figures, no rows); `admin`: every scope, and signals for any user.
SCOPES = ("signals", "read", "admin", "metrics")
ADMIN = "admin"
MAX_PRESENTED_LENGTH = 256


class Unauthenticated(DomainError):
    """No key, an unknown key or a revoked key (HTTP 401)."""


class Forbidden(DomainError):
    """A valid key without the scope the request needs (HTTP 403)."""


@dataclass(frozen=True)
class NewKey:
    id: uuid.UUID
    key: str  # shown once to the operator; only its hash is stored
    prefix: str
    user_email: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Principal:
    key_id: uuid.UUID
    user_id: uuid.UUID
    scopes: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.scopes


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _check_request(email: str, scopes: Sequence[str], name: str) -> tuple[str, ...]:
    if "@" not in email or email != email.strip() or len(email) > 320:
        raise InvalidInput("user", "must be an email address")
    if not scopes:
        raise InvalidInput("scope", f"give at least one of: {', '.join(SCOPES)}")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise InvalidInput("scope", f"unknown {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    if not 1 <= len(name) <= 100:
        raise InvalidInput("name", "must be 1 to 100 characters")
    return tuple(dict.fromkeys(scopes))


def create_key(uow: UnitOfWork, clock: Clock, *, user_email: str, scopes: Sequence[str],
               name: str = "default") -> NewKey:
    """A new random key for the user (created if new); only its SHA-256 and prefix are kept."""
    wanted = _check_request(user_email, scopes, name)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with uow:
        user_id = uow.users.get_or_create(user_email)
        key_id = uow.api_keys.add(user_id=user_id, name=name, key_hash=hash_key(key),
                                  key_prefix=key[:PREFIX_LENGTH], scopes=wanted,
                                  now=clock.now())
        uow.commit()
    log.info("api_key.created", key_id=str(key_id), prefix=key[:PREFIX_LENGTH],
             scopes=",".join(wanted))
    return NewKey(key_id, key, key[:PREFIX_LENGTH], user_email, wanted)


def revoke_key(uow: UnitOfWork, clock: Clock, key_id: uuid.UUID) -> None:
    with uow:
        if not uow.api_keys.revoke(key_id, clock.now()):
            raise NotFound("id", f"no API key {key_id}")
        uow.commit()
    log.info("api_key.revoked", key_id=str(key_id))


def authenticate(uow: UnitOfWork, clock: Clock, presented: str | None,
                 scope: str) -> Principal:
    """The key's principal; raises Unauthenticated (missing, unknown, revoked) or Forbidden."""
    if not presented or len(presented) > MAX_PRESENTED_LENGTH:
        raise Unauthenticated("a valid X-API-Key header is required")
    digest = hash_key(presented)
    with uow:
        stored = uow.api_keys.by_hash(digest)
        if stored is None or not hmac.compare_digest(stored.key_hash, digest):
            raise Unauthenticated("unknown API key")
        if stored.revoked_at is not None:
            raise Unauthenticated("this API key was revoked")
        if scope not in stored.scopes and ADMIN not in stored.scopes:
            raise Forbidden(f"this API key lacks the `{scope}` scope")
        uow.api_keys.touch(stored.id, clock.now())
        uow.commit()
    return Principal(stored.id, stored.user_id, stored.scopes)
