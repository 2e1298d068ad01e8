"""Prometheus metrics (``prometheus_client``), safe for Celery's prefork pool.

Two kinds of series:

- **Events** counted where they happen, in whichever process: signals ingested (by channel),
  rejected (by channel and the field that was wrong), executions (by status, action and
  reason), push→committed-execution latency, task and sweep durations. Counted from the
  handlers' own dotted log events (``signal.ingested``, ``signal.executed``, …; a structlog
  processor, ``metrics_tap``) and from Celery's task signals, so no handler knows about
  metrics. An execution is counted once its task succeeded (its transaction committed);
  a retried task's events are dropped and its retry counts them.
- **State** read at scrape time (``FleetState`` in ``workers/metrics_state.py``): open
  positions, exposure, price age per feed, queue depths, live swaps by state, backlogs.

With ``PROMETHEUS_MULTIPROC_DIR`` set (to a directory shared by the worker's pool children,
the ingestor and the HTTP processes), every process writes its events to files there and a
scrape sums them (prometheus_client's multiprocess mode). Files are named by host and pid,
so containers sharing the directory never collide.
"""

from __future__ import annotations

import os
import socket
import time
from collections import Counter as Tally
from collections.abc import Iterable, MutableMapping, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, values
from prometheus_client import multiprocess as _multiprocess
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SIGNAL_FIELDS = frozenset({"payload", "token_address", "signal_type", "signal_strength",
                           "symbol", "activation_reason", "source", "idempotency_key",
                           "user_id"})
SWEEP_TASKS = frozenset({"positions.sweep_tokens"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_HOST = socket.gethostname().replace("_", "-")[:40] or "host"


def _process_id() -> str:
    return f"{_HOST}-{os.getpid()}"


def multiproc_dir() -> str | None:
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        os.makedirs(path, exist_ok=True)
    return path or None


if multiproc_dir():  # before any metric exists: its values live in the shared files
    values.ValueClass = values.MultiProcessValue(_process_id)  # type: ignore[no-untyped-call]

SIGNALS_INGESTED = Counter("signalfleet_signals_ingested", "Signals stored, by channel",
                           ["channel"])
SIGNALS_DUPLICATE = Counter("signalfleet_signals_duplicate",
                            "Signals answered as repeats of a stored one (idempotency key)",
                            ["channel"])
SIGNALS_REJECTED = Counter("signalfleet_signals_rejected",
                           "Signals refused, by channel and the field that was wrong",
                           ["channel", "reason"])
EXECUTIONS = Counter("signalfleet_executions",
                     "Committed executions (one per signal and agent), by outcome and reason",
                     ["status", "action", "reason"])
LATENCY = Histogram("signalfleet_signal_latency_seconds",
                    "From a signal's arrival to its committed execution (each agent)",
                    buckets=LATENCY_BUCKETS)
TASKS = Counter("signalfleet_tasks", "Celery tasks finished, by name and final state",
                ["task", "state"])
TASK_DURATION = Histogram("signalfleet_task_duration_seconds", "Celery task run time",
                          ["task"], buckets=DURATION_BUCKETS)
SWEEP_DURATION = Histogram("signalfleet_sweep_duration_seconds",
                           "One sweep of a chunk of tokens (stop loss, take profit, stale, DCA)",
                           buckets=DURATION_BUCKETS)

_role = "stream"  # the channel of signals stored outside a task: "stream" or "http"
_pending: list[tuple[str, str, str, int | None]] = []  # this task's executions, uncommitted
_started: dict[str, float] = {}


def set_role(channel: str) -> None:
    """Which channel this process ingests from when not inside a task (the HTTP app: http)."""
    global _role
    _role = channel


def _channel() -> str:
    return "task" if "task" in structlog.contextvars.get_contextvars() else _role


def rejection_reason(field: str) -> str:
    """The field named by the refusal; any other name (an unknown key) is one bucket."""
    return field if field in SIGNAL_FIELDS else "unknown_field"


def signal_rejected(channel: str, field: str) -> None:
    SIGNALS_REJECTED.labels(channel, rejection_reason(field)).inc()


def metrics_tap(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: counts the handlers' outcome events; never changes or stops a
    log line (a metrics failure must not cost a log or a trade)."""
    try:
        name = event.get("event")
        if name == "signal.ingested":
            SIGNALS_INGESTED.labels(_channel()).inc()
        elif name == "signal.duplicate":
            SIGNALS_DUPLICATE.labels(_channel()).inc()
        elif name == "signal.executed" and event.get("status") != "duplicate":
            _pending.append((str(event.get("status")), str(event.get("decision")),
                             str(event.get("reason") or "none"), event.get("signal_id")))
            if "task" not in structlog.contextvars.get_contextvars():
                flush_executions()  # outside a task (tests, scripts): committed on return
    except Exception:  # see the docstring
        pass
    return event


def flush_executions(received: Any = None) -> None:
    """Count the buffered executions (their transaction committed) and observe their
    latency from ``received(signal_ids) -> {id: received_at}``."""
    done, _pending[:] = list(_pending), []
    for (status, action, reason), n in Tally((s, a, r) for s, a, r, _ in done).items():
        EXECUTIONS.labels(status, action, reason).inc(n)
    if received is None or not done:
        return
    arrivals = received(sorted({sid for *_, sid in done if sid is not None}))
    now = datetime.now(UTC)
    for *_, sid in done:
        if sid in arrivals:
            LATENCY.observe(max(0.0, (now - arrivals[sid]).total_seconds()))


def received_at(signal_ids: Sequence[int]) -> dict[int, datetime]:
    """When each signal arrived (one indexed read, after the executions' commit)."""
    from persistence.metrics_queries import received_at as query
    from workers.bootstrap import container

    if not signal_ids:
        return {}
    with container().session_factory() as session:
        return query(session, signal_ids)


def task_started(task_id: str) -> None:
    _pending.clear()
    _started[task_id] = time.monotonic()


def task_finished(task_id: str, name: str, state: str | None, received: Any) -> None:
    began = _started.pop(task_id, None)
    TASKS.labels(name, (state or "unknown").lower()).inc()
    if began is not None:
        elapsed = time.monotonic() - began
        TASK_DURATION.labels(name).observe(elapsed)
        if name in SWEEP_TASKS:
            SWEEP_DURATION.observe(elapsed)
    if state == "SUCCESS":
        flush_executions(received)
    else:
        _pending.clear()  # rolled back or retried: the retry counts them


class _Local:
    """This process's own metrics (no multiprocess directory configured)."""

    def collect(self) -> Iterable[Any]:
        return REGISTRY.collect()


def registry(*extra: Collector) -> CollectorRegistry:
    """A registry for one scrape: every process's events (the shared directory, or this
    process alone) plus ``extra`` collectors (the fleet's state)."""
    scrape = CollectorRegistry(auto_describe=False)
    path = multiproc_dir()
    if path:
        _multiprocess.MultiProcessCollector(scrape, path=path)  # type: ignore[no-untyped-call]
    else:
        scrape.register(_Local())
    for collector in extra:
        scrape.register(collector)
    return scrape
