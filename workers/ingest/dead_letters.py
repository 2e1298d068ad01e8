"""Rejected signal payloads go to a Redis stream with the field and the reason."""

from __future__ import annotations

import json
from typing import Any

import redis

DEAD_SIGNALS_STREAM = "signalfleet:signals:dead"


def dead_letter(client: redis.Redis, payload: Any, field: str, reason: str, *,
                source: str, message_id: str | None = None) -> None:
    text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
    entry = {"payload": text[:65_536], "field": field, "reason": reason, "source": source}
    if message_id is not None:
        entry["message_id"] = message_id
    client.xadd(DEAD_SIGNALS_STREAM, entry, maxlen=100_000)  # type: ignore[arg-type]
