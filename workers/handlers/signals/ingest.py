"""Use case: validate and store incoming signals, then enqueue their fan-out after commit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import structlog

from domain.channels import TASK
from domain.errors import InvalidSignal
from domain.json_text import REPEATED, repeated_key
from domain.ports import JsonObject
from domain.signals import Signal, parse_signal
from domain.vocabulary import DEFAULT_VOCABULARY, Vocabulary
from workers.handlers.shared.deps import Deps

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Ingested:
    signal_id: int
    created: bool  # False: a repeated idempotency key returned the existing signal


@dataclass(frozen=True)
class Rejected:
    field: str
    reason: str


def read_signal(payload: JsonObject, vocabulary: Vocabulary) -> Signal:
    """The signal of a decoded payload; raises InvalidSignal naming the field: a key the
    JSON object repeated, a field the parser refuses, a type outside the vocabulary."""
    repeated = repeated_key(payload)
    if repeated is not None:
        raise InvalidSignal(repeated, REPEATED)
    signal = parse_signal(dict(payload))
    vocabulary.check(signal.signal_type)
    return signal


def validate(payloads: Sequence[JsonObject],
             vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> list[Signal | Rejected]:
    out: list[Signal | Rejected] = []
    for payload in payloads:
        try:
            out.append(read_signal(payload, vocabulary))
        except InvalidSignal as exc:
            out.append(Rejected(exc.field, exc.reason))
    return out


def store_signals(signals: Sequence[Signal], deps: Deps, namespace: str = TASK,
                  enqueue: bool = True) -> list[Ingested]:
    """Store valid signals in one transaction; their fan-outs are enqueued only after it
    commits (a crash in between leaves them pending for the outbox sweeper). Idempotency keys
    are unique within ``namespace`` (the channel, domain/channels.py)."""
    with deps.uow() as uow:
        added = uow.signals.add_many(signals, deps.clock.now(), namespace=namespace)
        results = [Ingested(*row) for row in added]
        created = [r.signal_id for r in results if r.created]
        if enqueue and created:
            uow.after_commit(partial(deps.queue.fan_out, created))
        uow.commit()
    for r in results:
        log.info("signal.ingested" if r.created else "signal.duplicate", signal_id=r.signal_id)
    return results


def ingest(payload: JsonObject, deps: Deps, enqueue: bool = True) -> Ingested:
    """One payload; raises InvalidSignal (naming the field) and stores nothing if invalid.
    ``enqueue=False`` when the caller fans out itself (the ``signals.ingest`` task)."""
    signal = read_signal(payload, deps.vocabulary)
    return store_signals([signal], deps, TASK, enqueue)[0]


def ingest_batch(payloads: Sequence[JsonObject], deps: Deps,
                 reject: Callable[[JsonObject, Rejected], None]) -> int:
    """Validate a batch; reject the invalid ones one by one, store the rest together."""
    valid: list[Signal] = []
    for payload, parsed in zip(payloads, validate(payloads, deps.vocabulary), strict=True):
        if isinstance(parsed, Rejected):
            reject(payload, parsed)
        else:
            valid.append(parsed)
    if not valid:
        return 0
    return sum(r.created for r in store_signals(valid, deps))
