"""API keys of signal providers: only the SHA-256 of a key is ever stored (docs/rules.md §15)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from domain.records import StoredKey
from persistence import models as m

# last_used_at is refreshed at most this often, so a busy key is not a write per request.
TOUCH_EVERY = timedelta(seconds=60)



_COLUMNS = (
    m.ApiKey.id, m.ApiKey.user_id, m.User.email.label("user_email"), m.ApiKey.name,
    m.ApiKey.key_hash, m.ApiKey.key_prefix, m.ApiKey.scopes, m.ApiKey.created_at,
    m.ApiKey.last_used_at, m.ApiKey.revoked_at,
)


def _stored(row: Any) -> StoredKey:
    values = dict(row._mapping)
    values["scopes"] = tuple(values["scopes"] or ())
    return StoredKey(**values)


class ApiKeyRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, *, user_id: uuid.UUID, name: str, key_hash: str, key_prefix: str,
            scopes: Sequence[str], now: datetime) -> uuid.UUID:
        key_id = uuid.uuid4()
        self._s.execute(insert(m.ApiKey).values(
            id=key_id, user_id=user_id, name=name, key_hash=key_hash, key_prefix=key_prefix,
            scopes=list(scopes), created_at=now))
        return key_id

    def by_hash(self, key_hash: str) -> StoredKey | None:
        stmt = (select(*_COLUMNS).join(m.User, m.User.id == m.ApiKey.user_id)
                .where(m.ApiKey.key_hash == key_hash))
        row = self._s.execute(stmt).one_or_none()
        return None if row is None else _stored(row)

    def revoke(self, key_id: uuid.UUID, now: datetime) -> bool:
        """Revoke a key; False when no such key exists (revoking twice keeps the first time)."""
        found = self._s.execute(
            select(m.ApiKey.id).where(m.ApiKey.id == key_id)).scalar_one_or_none()
        if found is None:
            return False
        self._s.execute(update(m.ApiKey)
                        .where(m.ApiKey.id == key_id, m.ApiKey.revoked_at.is_(None))
                        .values(revoked_at=now))
        return True

    def touch(self, key_id: uuid.UUID, now: datetime) -> None:
        """Record a use (at most once per ``TOUCH_EVERY``)."""
        self._s.execute(update(m.ApiKey)
                        .where(m.ApiKey.id == key_id,
                               or_(m.ApiKey.last_used_at.is_(None),
                                   m.ApiKey.last_used_at < now - TOUCH_EVERY))
                        .values(last_used_at=now))
