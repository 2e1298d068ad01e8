"""The Redis Stream ingestor: providers in any language ``XADD signalfleet:signals * payload
<json>``; a consumer group reads batches, stores the valid signals in one transaction, and
acknowledges a message only after its row has committed. Invalid messages are acknowledged
into the dead-letter stream with the field and the reason.

A message without an ``idempotency_key`` is keyed by its stream id, so a redelivery after a
crash between commit and XACK stores nothing twice.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import redis
import structlog

from domain.ports import Clock, UnitOfWork
from domain.signals import Signal
from workers.handlers.ingest import Rejected, store_signals, validate
from workers.ingest.dead_letters import dead_letter

log = structlog.get_logger(__name__)
SIGNALS_STREAM = "signalfleet:signals"
GROUP = "ingestors"


@dataclass(frozen=True)
class StreamIngestor:
    redis: redis.Redis
    uow: Callable[[], UnitOfWork]
    clock: Clock
    enqueue_fan_out: Callable[[int], None]
    consumer: str
    batch_size: int = 500
    block_ms: int = 1000
    reclaim_idle_ms: int = 30_000

    def ensure_group(self) -> None:
        try:
            self.redis.xgroup_create(SIGNALS_STREAM, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def run(self, stop: threading.Event) -> None:
        self.ensure_group()
        log.info("ingest.started", stream=SIGNALS_STREAM, consumer=self.consumer)
        while not stop.is_set():
            try:
                self.poll()
            except redis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                self.ensure_group()  # the stream was deleted (e.g. Redis data lost)
            except redis.ConnectionError:
                log.warning("ingest.redis_unavailable")
                stop.wait(1)

    def poll(self) -> int:
        """One round: first messages abandoned by a dead consumer, then new ones."""
        reclaimed = self.redis.xautoclaim(SIGNALS_STREAM, GROUP, self.consumer,
                                          self.reclaim_idle_ms, "0-0", count=self.batch_size)
        messages = list(reclaimed[1]) if reclaimed else []
        if not messages:
            read = self.redis.xreadgroup(GROUP, self.consumer, {SIGNALS_STREAM: ">"},
                                         count=self.batch_size, block=self.block_ms)
            messages = [m for _, batch in read or [] for m in batch]
        if messages:
            self.handle(messages)
        return len(messages)

    def handle(self, messages: list[tuple[Any, dict[Any, Any]]]) -> None:
        ids: list[str] = []
        valid: list[Signal] = []
        for raw_id, fields in messages:
            message_id = _text(raw_id)
            ids.append(message_id)
            parsed = _parse(message_id, fields)
            if isinstance(parsed, Rejected):
                raw = fields.get("payload", fields.get(b"payload", ""))
                dead_letter(self.redis, _text(raw), parsed.field, parsed.reason,
                            source="stream", message_id=message_id)
                log.warning("signal.rejected", message_id=message_id, field=parsed.field,
                            reason=parsed.reason)
            else:
                valid.append(parsed)
        if valid:
            store_signals(valid, self.uow(), self.clock, self.enqueue_fan_out)
        self.redis.xack(SIGNALS_STREAM, GROUP, *ids)


def _parse(message_id: str, fields: dict[Any, Any]) -> Signal | Rejected:
    raw = fields.get("payload", fields.get(b"payload"))
    if raw is None:
        return Rejected("payload", "the message has no `payload` field")
    try:
        data = json.loads(_text(raw), parse_float=Decimal)
    except ValueError:
        return Rejected("payload", "not valid JSON")
    if not isinstance(data, dict):
        return Rejected("payload", "must be a JSON object")
    if data.get("idempotency_key") is None:
        data["idempotency_key"] = f"stream:{message_id}"
    return validate([data])[0]


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
