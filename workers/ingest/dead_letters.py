"""Dead letters: rejected signal payloads (with the field and the reason) and tasks given up
on, each in a Redis stream capped in length and entry size (bounded growth), so a flood of
bad input cannot fill Redis: the newest ``DEAD_LETTER_MAXLEN`` entries are kept. Their text is
scrubbed of secrets like every log line (``workers.logging.scrub``)."""

from __future__ import annotations

import json
from typing import Any

import redis

from workers.logging import scrub
from workers.metrics import signal_rejected

DEAD_SIGNALS_STREAM = "signalfleet:signals:dead"
DEAD_TASKS_STREAM = "signalfleet:dead-tasks"
DEAD_LETTER_MAXLEN = 5_000  # entries kept per dead-letter stream, the oldest trimmed
DEAD_LETTER_TEXT_MAX = 4_096  # characters kept of a payload or of a task's arguments
# (a valid signal payload is under 3 KiB: its longest field, activation_reason, is 2,000)


def dead_letter(client: redis.Redis, payload: Any, field: str, reason: str, *,
                source: str, message_id: str | None = None) -> None:
    text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
    entry = {"payload": scrub(text[:DEAD_LETTER_TEXT_MAX]), "field": field,
             "reason": scrub(reason[:500]),
             "source": source}
    if message_id is not None:
        entry["message_id"] = message_id
    client.xadd(DEAD_SIGNALS_STREAM, entry, maxlen=DEAD_LETTER_MAXLEN)  # type: ignore[arg-type]
    signal_rejected(source, field)


def dead_task(client: redis.Redis, task: str, task_id: str, args: Any, reason: str) -> None:
    client.xadd(DEAD_TASKS_STREAM, {
        "task": task, "task_id": task_id,
        "args": scrub(json.dumps(args, default=str)[:DEAD_LETTER_TEXT_MAX]),
        "reason": scrub(reason[:500]),
    }, maxlen=DEAD_LETTER_MAXLEN)
