"""The channels a signal enters by, and each one's idempotency namespace.

An idempotency key is unique within its namespace only: ``http:<user id>`` for the HTTP
ingest (the API key's user, so one provider can neither pre-empt nor see another's signals),
``stream`` for the Redis stream, ``task`` for the ``signals.ingest`` tasks and ``manual`` for
``fleet trades buy`` (the operator's own channels). The same key in two namespaces names two
unrelated signals.
"""

from __future__ import annotations

import uuid

STREAM = "stream"
TASK = "task"
# The operator's manual buys (``fleet trades buy``, stored without a key).
MANUAL = "manual"
# Rows stored before namespaces existed whose channel was never recorded; no channel writes
# here, so no new signal is ever taken for one of them.
LEGACY = "legacy"


def http_namespace(user_id: uuid.UUID) -> str:
    return f"http:{user_id}"
