"""The Redis Stream ingestor: providers in any language ``XADD signalfleet:signals * payload
<json>``; a consumer group reads batches, stores the valid signals in one transaction, and
acknowledges a message only after its row has committed, deleting it from the stream in the
same MULTI, so the stream holds only what is not yet ingested. Invalid messages are
acknowledged into the dead-letter stream with the field and the reason.

Once a batch is committed and acknowledged, its fan-outs start here: a small batch's signals
that reach a handful of agents are executed by this process, with no Celery hop (the
low-latency path, ``fan_out_here``); the rest go to the workers.

A message without an ``idempotency_key`` is keyed by its stream id, so a redelivery after a
crash between commit and XACK stores nothing twice. Keys live in the ``stream`` namespace: no
other channel can claim one (domain/channels.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

import redis
import structlog
from redis import Redis

from domain.channels import STREAM
from domain.errors import TransientError
from domain.json_text import REPEATED, RepeatedKey, loads_exact
from domain.signals import Signal, absent
from domain.vocabulary import Vocabulary
from persistence.redis_outage import outage, process_episode
from workers import metrics
from workers.handlers.shared.deps import Deps
from workers.handlers.signals.fan_out import fan_out_here
from workers.handlers.signals.ingest import Rejected, store_signals, validate
from workers.ingest.dead_letters import dead_letter

log = structlog.get_logger(__name__)
SIGNALS_STREAM = "signalfleet:signals"
GROUP = "ingestors"
StreamRead = list[tuple[Any, list[tuple[Any, dict[Any, Any]]]]] | None  # XREADGROUP's reply
HEARTBEAT_KEY = "sf:ingestors:{}"  # refreshed every poll; `fleet doctor` reads it


@dataclass(frozen=True)
class StreamIngestor:
    redis: Redis
    deps: Deps
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
        """Until ``stop``: never exits for Redis refusing work (out of memory, read-only,
        connection lost) nor for the database being down; it waits with backoff, logging
        one line when such an outage starts and one when it ends."""
        episode = process_episode("ingest")
        grouped = False
        log.info("ingest.started", stream=SIGNALS_STREAM, consumer=self.consumer)
        while not stop.is_set():
            try:
                if not grouped:
                    self.ensure_group()
                    grouped = True
                # while Redis refuses this write, nothing is read: signals wait in the stream
                self.redis.set(HEARTBEAT_KEY.format(self.consumer), "alive", ex=10)
                episode.recovered()
                self.poll()
            except redis.RedisError as exc:
                # NOGROUP: the stream is gone (Redis data lost); UNBLOCKED: it went while this
                # consumer was blocked in XREADGROUP (FLUSHALL, DEL)
                if "NOGROUP" in str(exc) or "UNBLOCKED" in str(exc):
                    grouped = False
                elif outage(exc) is None:
                    raise
                else:
                    stop.wait(episode.failed(exc))
            except TransientError:  # database unavailable: the batch stays pending, retried
                log.warning("ingest.database_unavailable")
                stop.wait(1)
            except Exception as exc:
                # the broker (this Redis, behind kombu's wrapper) refused a fan-out's enqueue:
                # the batch is stored and acknowledged, and the outbox sweeper re-sends what
                # was not enqueued once Redis takes writes again
                if outage(exc) is None:
                    raise
                stop.wait(episode.failed(exc))

    def poll(self) -> int:
        """One round: this consumer's own unacknowledged messages (a batch the database
        refused), then those abandoned by a dead consumer, then new ones."""
        own = cast(StreamRead, self.redis.xreadgroup(
            GROUP, self.consumer, {SIGNALS_STREAM: "0"}, count=self.batch_size))
        messages = [m for _, batch in own or [] for m in batch if m[1]]
        if not messages:
            reclaimed = cast(list[Any], self._raw.xautoclaim(
                SIGNALS_STREAM, GROUP, self.consumer, self.reclaim_idle_ms, "0-0",
                count=self.batch_size))
            messages = list(reclaimed[1]) if reclaimed else []
        if not messages:
            read = cast(StreamRead, self._raw.xreadgroup(
                GROUP, self.consumer, {SIGNALS_STREAM: ">"}, count=self.batch_size,
                block=self.block_ms))
            messages = [m for _, batch in read or [] for m in batch]
        if messages:
            self.handle(messages)
        return len(messages)

    @cached_property
    def _raw(self) -> Redis:
        """Reads as bytes: a payload that is not UTF-8 is dead-lettered; decoded by the
        client it raised out of the read and stopped the ingestor at every restart."""
        pool = self.redis.connection_pool
        return redis.Redis(connection_pool=redis.ConnectionPool(
            connection_class=pool.connection_class,
            **{**pool.connection_kwargs, "decode_responses": False}))

    def handle(self, messages: list[tuple[Any, dict[Any, Any]]]) -> None:
        ids: list[str] = []
        valid: list[tuple[str, Any, Signal]] = []
        for raw_id, fields in messages:
            message_id = _text(raw_id)
            ids.append(message_id)
            raw = _text(fields.get("payload", fields.get(b"payload", "")))
            parsed = _parse(message_id, fields, self.deps.vocabulary)
            if isinstance(parsed, Rejected):
                self._reject(message_id, raw, parsed)
            else:
                valid.append((message_id, raw, parsed))
        created = self._store(valid) if valid else []
        self._ack_and_trim(ids)
        # counted as a task's executions are: once committed, with their latency
        with structlog.contextvars.bound_contextvars(task="ingest.inline"):
            fan_out_here(created, self.deps)
        metrics.flush_executions(metrics.received_at)

    def _ack_and_trim(self, ids: list[str]) -> None:
        """Acknowledge and delete the handled messages in one MULTI (bounded growth): the
        stream holds only the backlog not yet ingested, never the history. Every id here is
        committed to PostgreSQL or dead-lettered, and nothing else reads the stream."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.xack(SIGNALS_STREAM, GROUP, *ids)
        pipe.xdel(SIGNALS_STREAM, *ids)
        pipe.execute()

    def _store(self, valid: list[tuple[str, Any, Signal]]) -> list[int]:
        """The batch in one transaction; if the database refuses it for a reason other than
        being unavailable, one by one, so one bad message never blocks the stream. Returns
        the new signals' ids (a crash before their fan-out leaves them to the sweeper)."""
        try:
            stored = store_signals([s for _, _, s in valid], self.deps, STREAM, enqueue=False)
            return [r.signal_id for r in stored if r.created]
        except TransientError:
            raise
        except Exception:
            log.exception("ingest.batch_refused", size=len(valid))
        created: list[int] = []
        for message_id, raw, signal in valid:
            try:
                created += [r.signal_id for r in store_signals([signal], self.deps, STREAM,
                                                               enqueue=False) if r.created]
            except TransientError:
                raise
            except Exception as exc:
                self._reject(message_id, raw, Rejected("payload", f"not storable: "
                                                                  f"{type(exc).__name__}"))
        return created

    def _reject(self, message_id: str, raw: Any, bad: Rejected) -> None:
        dead_letter(self.redis, raw, bad.field, bad.reason, source="stream",
                    message_id=message_id)
        log.warning("signal.rejected", message_id=message_id, field=bad.field,
                    reason=bad.reason)


def _parse(message_id: str, fields: dict[Any, Any], vocabulary: Vocabulary) -> Signal | Rejected:
    raw = fields.get("payload", fields.get(b"payload"))
    if raw is None:
        return Rejected("payload", "the message has no `payload` field")
    try:
        text = raw.decode() if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        return Rejected("payload", "not UTF-8 text")
    try:
        data = loads_exact(text, unique_keys=True)
    except RepeatedKey as exc:
        return Rejected(exc.key, REPEATED)
    except ValueError:
        return Rejected("payload", "not valid JSON")
    if not isinstance(data, dict):
        return Rejected("payload", "must be a JSON object")
    if absent(data.get("idempotency_key")):
        data["idempotency_key"] = f"stream:{message_id}"
    return validate([data], vocabulary)[0]


def _text(value: str | bytes) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value
