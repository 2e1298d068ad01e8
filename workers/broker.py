"""The Celery broker: kombu's Redis transport with leases, and without exits on Redis outages.

**Leases (timely redelivery without beat).** kombu keeps each message a worker took and has not
acknowledged in the ``unacked`` hash, with the time it took it in ``unacked_index``; every
worker's main process restores to its queue the entries older than the visibility timeout.
Stock, that time is the delivery time, so the timeout must exceed the longest task and the
longest countdown (it was an hour) and a killed worker's messages waited that long. Here every
worker's main process renews the time of each message it still holds every
``visibility_timeout / 6`` seconds (one ``ZADD … XX``): an entry older than the timeout then
belongs to a worker that is gone, whatever the length of the task, so a SIGKILLed worker's work
is back in its queue within the visibility timeout plus one restore interval, with or without
beat. The time limits need not fit inside the timeout any more.

**Outages (Redis refusing writes: out of memory, read-only replica, MISCONF; or unreachable).**
kombu pops a message (``BRPOP``, allowed even when Redis is full) and then records it in
``unacked``, a write: refused, the worker's main process died with "Unrecoverable error" and
the popped message was in neither place. Here such a message is held in memory, the worker
takes no other, and it is recorded then delivered once Redis takes writes again (retried with
backoff from the event loop's timer: blocking the loop would hold back the pool's results and
fire their time limits late). An acknowledgement Redis refuses is finished later; a requeue it
refuses is left in ``unacked`` for the restore (one visibility timeout later); a replica's
READONLY pauses consuming; binding writes at start-up wait. Each process logs one line when an
outage starts and one when it ends. After an outage, restores pause for one visibility timeout
so that live workers renew their leases before anything of theirs is taken for abandoned.

Used through the ``sfredis`` URL schemes (``celery_app.broker_url``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis
from kombu.transport.virtual import base as virtual

from persistence.redis_outage import Episode, outage, process_episode

log = structlog.get_logger(__name__)
T = TypeVar("T")
LEASES_PER_TIMEOUT = 6
RETRY_TICK = 0.5  # how often held messages and refused acknowledgements are tried again
PROBE_KEY = "sf:broker:probe"


def _episode() -> Episode:
    """The process's (`fleet worker` names it): one line per outage."""
    return process_episode()


_wait_for_bindings = False


def wait_for_bindings() -> None:
    """Called by ``fleet worker``: at start-up, queue bindings Redis refuses are retried until
    it takes them (a worker starting during an outage waits instead of exiting). Producers
    (ingestors, beat, HTTP ingest) keep the error: they handle the outage themselves."""
    global _wait_for_bindings
    _wait_for_bindings = True


def _until_accepted(write: Callable[[], T]) -> T:
    """``write()``, retried with backoff while Redis refuses it. Only for start-up (the
    queue bindings), before any task runs: blocking the event loop later would hold back the
    pool's results and fire their time limits late."""
    if not _wait_for_bindings:
        return write()
    while True:
        try:
            result = write()
        except Exception as exc:
            if outage(exc) is None:
                raise
            time.sleep(_episode().failed(exc))
            continue
        _episode().recovered()
        return result


class QoS(kombu_redis.QoS):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unrecorded: list[tuple[Any, Callable[[Any], Any]]] = []
        self._unacked_later: set[str] = set()
        self._paused_until = 0.0
        self._next_try = 0.0

    # -- messages popped while Redis refused to record them ------------------------------

    def hold(self, message: Any, deliver: Callable[[Any], Any], exc: Exception) -> None:
        """The message is already popped from its queue and Redis refused to record it in
        ``unacked``: keep it here (it is nowhere else), take no other, and record then
        deliver it once Redis takes writes again (``retry``)."""
        self._unrecorded.append((message, deliver))
        self._next_try = time.monotonic() + _episode().failed(exc)

    def pause(self, exc: Exception) -> None:
        """Take no message for a while (a replica refusing BRPOP)."""
        self._paused_until = time.monotonic() + _episode().failed(exc)

    def can_consume(self) -> bool:
        if self._unrecorded or time.monotonic() < self._paused_until:
            return False
        return bool(super().can_consume())

    def can_consume_max_estimate(self) -> int | None:
        return 0 if not self.can_consume() else super().can_consume_max_estimate()

    def retry(self) -> None:
        """From the event loop's timer: record and deliver the held messages, finish the
        acknowledgements Redis refused; on the next refusal wait for the backoff."""
        if not (self._unrecorded or self._unacked_later) or time.monotonic() < self._next_try:
            return
        recorded = False
        try:
            while self._unrecorded:
                message, deliver = self._unrecorded[0]
                super().append(message, message.delivery_tag)
                recorded = True
                self._unrecorded.pop(0)
                deliver(message)
            for tag in list(self._unacked_later):
                self._remove_from_indices(tag).execute()
                self._unacked_later.discard(tag)
        except Exception as exc:
            if outage(exc) is None:
                raise
            self._next_try = time.monotonic() + _episode().failed(exc)
            return
        if recorded:  # a write went through (deletions do even when Redis is full)
            _episode().recovered()
            self.renew_leases()  # the outage may have outlasted the leases of the others

    # -- acknowledgements Redis refuses ----------------------------------------------------

    def ack(self, delivery_tag: str) -> None:
        self._or_later(lambda: super(QoS, self).ack(delivery_tag), delivery_tag, forget=False)

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        self._or_later(lambda: super(QoS, self).reject(delivery_tag, requeue), delivery_tag,
                       forget=requeue)

    def _or_later(self, change: Callable[[], None], delivery_tag: str, forget: bool) -> None:
        """If Redis refuses the change, this worker drops the message from its own count
        (a slot frees for the next) and either deletes it from ``unacked`` later (``retry``)
        or, for a requeue, forgets it: its lease lapses and a worker restores it one
        visibility timeout later. A success says nothing of an outage: Redis takes deletions
        even when full."""
        try:
            change()
        except Exception as exc:
            if outage(exc) is None:
                raise
            self._next_try = time.monotonic() + _episode().failed(exc)
            virtual.QoS.ack(self, delivery_tag)
            if not forget:
                self._unacked_later.add(delivery_tag)

    # -- shutdown, restore, leases --------------------------------------------------------

    def restore_unacked(self, client: Any = None) -> None:
        """At shutdown: what cannot be put back now is restored later by the lease; a message
        never recorded is pushed back to its queue if Redis lets us."""
        try:
            super().restore_unacked(client)
            if self._unrecorded:
                with self.channel.conn_or_acquire(client) as conn:
                    pipe = conn.pipeline()
                    for message, _ in self._unrecorded:
                        info = message.delivery_info
                        self.channel._do_restore_message(
                            message._raw, info["exchange"], info["routing_key"], pipe, True)
                    pipe.execute()
        except Exception as exc:
            if outage(exc) is None:
                raise
            lost = [m.headers.get("id") for m, _ in self._unrecorded]
            if lost:  # the outbox sweeper sends a signal's fan-out again
                log.error("broker.messages_lost", task_ids=lost, reason=outage(exc))
            self._delivered.clear()
        self._unrecorded.clear()

    def restore_visible(self, start: int = 0, num: int = 10, interval: int = 10) -> None:
        """kombu's periodic restore of abandoned messages (each restore interval), which also
        notices an outage's end; none for one visibility timeout after an outage, so that
        live workers renew their leases first."""
        try:
            if _episode().active:
                with self.channel.conn_or_acquire() as client:
                    client.set(PROBE_KEY, "1", px=1000)  # a write: is Redis taking them again?
                _episode().recovered()
            if not _episode().seen_within(self.visibility_timeout):
                super().restore_visible(start, num, interval)
        except Exception as exc:
            if outage(exc) is None:
                raise
            _episode().failed(exc)

    def renew_leases(self) -> bool:
        """Every message this channel holds (running, prefetched, waiting for its countdown)
        is still in good hands: its time in ``unacked_index`` becomes now. ``XX`` never adds
        back an entry acknowledged meanwhile. Whether there was anything to renew."""
        held = [tag for tag in self._delivered if tag not in self._dirty]
        if not held:
            return False
        now = time.time()
        with self.channel.conn_or_acquire() as client:
            client.zadd(self.unacked_index_key, dict.fromkeys(held, now), xx=True)
        return True


class Channel(kombu_redis.Channel):  # type: ignore[misc]
    QoS = QoS

    def basic_consume(self, queue: str, no_ack: bool, callback: Callable[[Any], Any],
                      consumer_tag: str, **kwargs: Any) -> Any:
        """kombu's consume callback, except that a message Redis refuses to record is held
        (``QoS.hold``) instead of the refusal killing the worker with the message in memory
        only."""
        result = super().basic_consume(queue, no_ack, callback, consumer_tag, **kwargs)
        if not no_ack:
            def _record_then_deliver(raw: Any) -> Any:
                message = self.Message(raw, channel=self)
                try:
                    self.qos.append(message, message.delivery_tag)
                except Exception as exc:
                    if outage(exc) is None:
                        raise
                    self.qos.hold(message, callback, exc)
                    return None
                return callback(message)

            self.connection._callbacks[queue] = _record_then_deliver
        return result

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        _until_accepted(lambda: super(Channel, self)._queue_bind(exchange, routing_key,
                                                                 pattern, queue))

    def _brpop_read(self, **options: Any) -> bool:
        """A replica answers BRPOP with READONLY: take nothing for a while (not a crash)."""
        try:
            return bool(super()._brpop_read(**options))
        except kombu_redis.Empty:
            raise
        except Exception as exc:
            if outage(exc) is None or isinstance(exc, self.connection_errors):
                raise  # connection errors: Celery reconnects
            self.client.connection.disconnect()
            self.qos.pause(exc)
            raise kombu_redis.Empty() from None

    def maybe_refresh_binding_expiry(self) -> None:
        try:
            super().maybe_refresh_binding_expiry()
        except Exception as exc:
            if outage(exc) is None:
                raise
            _episode().failed(exc)


class Transport(kombu_redis.Transport):  # type: ignore[misc]
    Channel = Channel

    def register_with_event_loop(self, connection: Any, loop: Any) -> None:
        super().register_with_event_loop(connection, loop)
        for name in ("_renew_leases_tref", "_retry_tref"):
            old = getattr(self.cycle, name, None)
            if old is not None:
                old.cancel()
        timeout = connection.client.transport_options.get(
            "visibility_timeout", Channel.visibility_timeout)
        self.cycle._renew_leases_tref = loop.call_repeatedly(
            max(1.0, timeout / LEASES_PER_TIMEOUT), self._renew_leases)
        self.cycle._retry_tref = loop.call_repeatedly(RETRY_TICK, self._retry)

    def _channels(self) -> list[Any]:
        return list(self.cycle._channels)

    def _retry(self) -> None:
        for channel in self._channels():
            channel.qos.retry()

    def _renew_leases(self) -> None:
        renewed = False
        for channel in self._channels():
            try:
                renewed = channel.qos.renew_leases() or renewed
            except Exception as exc:
                if outage(exc) is None:
                    raise
                _episode().failed(exc)
                return
        if renewed:
            _episode().recovered()


def fleet_broker_url(url: str) -> str:
    """The same Redis, spelled so that kombu loads this transport (``sfredis://``,
    ``sfrediss://``, ``sfredis+socket://``)."""
    for scheme in ("redis://", "rediss://", "redis+socket://"):
        if url.startswith(scheme):
            return "sf" + url
    return url


TRANSPORT_ALIASES.setdefault("sfredis", "workers.broker:Transport")
TRANSPORT_ALIASES.setdefault("sfrediss", "workers.broker:Transport")
