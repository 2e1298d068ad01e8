"""Use case: validate and store incoming signals, then enqueue their fan-out after commit."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from domain.channels import TASK
from domain.errors import InvalidSignal
from domain.json_text import REPEATED, repeated_key
from domain.ports import Clock, UnitOfWork
from domain.signals import Signal, parse_signal
from domain.vocabulary import DEFAULT_VOCABULARY, Vocabulary

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Ingested:
    signal_id: int
    created: bool  # False: a repeated idempotency key returned the existing signal


@dataclass(frozen=True)
class Rejected:
    field: str
    reason: str


def read_signal(payload: Mapping[str, Any], vocabulary: Vocabulary) -> Signal:
    """The signal of a decoded payload; raises InvalidSignal naming the field: a key the
    JSON object repeated, a field the parser refuses, a type outside the vocabulary."""
    repeated = repeated_key(payload)
    if repeated is not None:
        raise InvalidSignal(repeated, REPEATED)
    signal = parse_signal(dict(payload))
    vocabulary.check(signal.signal_type)
    return signal


def validate(payloads: Sequence[Mapping[str, Any]],
             vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> list[Signal | Rejected]:
    out: list[Signal | Rejected] = []
    for payload in payloads:
        try:
            out.append(read_signal(payload, vocabulary))
        except InvalidSignal as exc:
            out.append(Rejected(exc.field, exc.reason))
    return out


def store_signals(signals: Sequence[Signal], uow: UnitOfWork, clock: Clock,
                  enqueue_fan_out: Callable[[int], None],
                  enqueue_batch: Callable[[list[int]], None] | None = None,
                  namespace: str = TASK) -> list[Ingested]:
    """Store valid signals in one transaction; fan-outs are enqueued only after it commits
    (a crash in between leaves them pending for the outbox sweeper). ``enqueue_batch``, when
    given, takes all the new ids at once (one message for a whole batch). Idempotency keys
    are unique within ``namespace`` (the channel, domain/channels.py)."""
    now = clock.now()
    with uow:
        results = [Ingested(*added)
                   for added in uow.signals.add_many(signals, now, namespace=namespace)]
        created = [r.signal_id for r in results if r.created]
        if enqueue_batch is not None and len(created) > 1:
            uow.after_commit(lambda: enqueue_batch(created))
        else:
            uow.after_commit(lambda: [enqueue_fan_out(sid) for sid in created])
        uow.commit()
    for r in results:
        log.info("signal.ingested" if r.created else "signal.duplicate", signal_id=r.signal_id)
    return results


def ingest(payload: Mapping[str, Any], uow: UnitOfWork, clock: Clock,
           enqueue_fan_out: Callable[[int], None],
           vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> Ingested:
    """One payload; raises InvalidSignal (naming the field) and stores nothing if invalid."""
    signal = read_signal(payload, vocabulary)
    return store_signals([signal], uow, clock, enqueue_fan_out)[0]


def ingest_batch(payloads: Sequence[Mapping[str, Any]], uow: UnitOfWork, clock: Clock,
                 enqueue_batch: Callable[[list[int]], None],
                 reject: Callable[[Mapping[str, Any], Rejected], None],
                 vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> int:
    """Validate a batch; reject the invalid ones one by one, store the rest together (their
    fan-outs enqueued as batches, a single one as a batch of one)."""
    valid: list[Signal] = []
    for payload, parsed in zip(payloads, validate(payloads, vocabulary), strict=True):
        if isinstance(parsed, Rejected):
            reject(payload, parsed)
        else:
            valid.append(parsed)
    if not valid:
        return 0
    return sum(r.created for r in store_signals(valid, uow, clock,
                                                lambda sid: enqueue_batch([sid]),
                                                enqueue_batch))
