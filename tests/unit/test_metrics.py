"""``workers/metrics.py``: the outcome events are counted from the handlers' log events; an
execution counts only once its task succeeded; refusal reasons stay a bounded set."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import structlog
from prometheus_client import REGISTRY

from workers import metrics


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def in_task() -> Iterator[None]:
    structlog.contextvars.bind_contextvars(task="signals.execute")
    yield
    structlog.contextvars.unbind_contextvars("task")


def tap(**event: object) -> None:
    metrics.metrics_tap(None, "info", dict(event))


def test_ingested_and_duplicate_signals_count_by_channel(in_task: None) -> None:
    before = value("signalfleet_signals_ingested_total", channel="task")
    tap(event="signal.ingested", signal_id=1)
    tap(event="signal.duplicate", signal_id=1)
    assert value("signalfleet_signals_ingested_total", channel="task") == before + 1
    structlog.contextvars.unbind_contextvars("task")
    metrics.set_role("http")
    try:
        before = value("signalfleet_signals_ingested_total", channel="http")
        tap(event="signal.ingested", signal_id=2)
        assert value("signalfleet_signals_ingested_total", channel="http") == before + 1
    finally:
        metrics.set_role("stream")


def test_executions_count_only_when_their_task_succeeds(in_task: None) -> None:
    labels = {"status": "SKIPPED", "action": "none", "reason": "below_minimum_balance"}
    before = value("signalfleet_executions_total", **labels)
    latency_before = value("signalfleet_signal_latency_seconds_count")
    arrived = datetime.now(UTC) - timedelta(seconds=2)

    metrics.task_started("t1")
    tap(event="signal.executed", signal_id=7, status="SKIPPED", decision="none",
        reason="below_minimum_balance")
    tap(event="signal.executed", signal_id=7, status="duplicate", decision="none",
        reason="already_executed")  # a redelivery's no-op is not an execution
    metrics.task_finished("t1", "signals.execute", "RETRY", lambda ids: {7: arrived})
    assert value("signalfleet_executions_total", **labels) == before  # rolled back: dropped

    metrics.task_started("t2")
    tap(event="signal.executed", signal_id=7, status="SKIPPED", decision="none",
        reason="below_minimum_balance")
    metrics.task_finished("t2", "signals.execute", "SUCCESS", lambda ids: {7: arrived})
    assert value("signalfleet_executions_total", **labels) == before + 1
    assert value("signalfleet_signal_latency_seconds_count") == latency_before + 1
    assert value("signalfleet_signal_latency_seconds_bucket", le="1.0") < value(
        "signalfleet_signal_latency_seconds_bucket", le="2.5")  # observed about 2 s
    assert value("signalfleet_tasks_total", task="signals.execute", state="retry") >= 1


def test_a_sweep_task_feeds_the_sweep_duration() -> None:
    before = value("signalfleet_sweep_duration_seconds_count")
    metrics.task_started("s1")
    metrics.task_finished("s1", "positions.sweep_tokens", "SUCCESS", None)
    assert value("signalfleet_sweep_duration_seconds_count") == before + 1
    assert value("signalfleet_task_duration_seconds_count",
                 task="positions.sweep_tokens") >= 1


def test_refusals_are_labelled_by_a_bounded_set_of_fields() -> None:
    before = value("signalfleet_signals_rejected_total", channel="stream",
                   reason="unknown_field")
    metrics.signal_rejected("stream", "signal_strength")
    metrics.signal_rejected("stream", "my-made-up-key-12345")  # attacker-chosen: one bucket
    assert value("signalfleet_signals_rejected_total", channel="stream",
                 reason="signal_strength") >= 1
    assert value("signalfleet_signals_rejected_total", channel="stream",
                 reason="unknown_field") == before + 1


def test_the_tap_never_changes_or_stops_an_event() -> None:
    event = {"event": "signal.executed", "status": object(), "signal_id": "x"}
    assert metrics.metrics_tap(None, "info", dict(event)) == event
