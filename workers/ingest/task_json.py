"""The task queue's JSON decoder: kombu's, except that an object naming a key twice is
marked (``domain.json_text.JsonObject``) instead of silently keeping the last value, so that
the ``signals.ingest`` tasks dead-letter such a payload naming the key. Raising instead would
lose the message: Celery drops a body it cannot decode."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kombu.serialization import registry
from kombu.utils import json as kombu_json

from domain.json_text import marking_object


def _object(pairs: Sequence[tuple[str, Any]]) -> Any:
    return kombu_json.object_hook(marking_object(pairs))


def loads(body: str | bytes | bytearray | memoryview) -> Any:
    if isinstance(body, memoryview):
        body = body.tobytes()
    text = body.decode("utf-8") if isinstance(body, bytes | bytearray) else body
    return json.loads(text, object_pairs_hook=_object)


def install() -> None:
    """Replace the ``json`` codec's decoder (the encoder stays kombu's) in this process."""
    registry.register("json", kombu_json.dumps, loads, content_type="application/json",
                      content_encoding="utf-8")
