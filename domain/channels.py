"""The channels a signal enters by, and each one's idempotency namespace.

An idempotency key is unique within its namespace only: ``http:<user id>`` for the HTTP
ingest (the API key's user, so one provider can neither pre-empt nor see another's signals),
``stream`` for the Redis stream and ``task`` for the ``signals.ingest`` tasks (the operator's
own channels). The same key in two namespaces names two unrelated signals.
"""

from __future__ import annotations

import uuid

STREAM = "stream"
TASK = "task"
# Rows stored before namespaces existed whose channel was never recorded; no channel writes
# here, so no new signal is ever taken for one of them.
LEGACY = "legacy"


def http_namespace(user_id: uuid.UUID) -> str:
    return f"http:{user_id}"
