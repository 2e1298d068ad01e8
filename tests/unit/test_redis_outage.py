"""What counts as Redis refusing work, and the one-line-per-outage logging every long-running
process uses (persistence/redis_outage.py)."""

from __future__ import annotations

import os

import pytest
import redis
from celery.beat import SchedulingError
from kombu.exceptions import OperationalError
from redis import exceptions as rx
from structlog.testing import capture_logs

from persistence import redis_outage
from persistence.redis_outage import Episode, outage, process_episode


@pytest.mark.parametrize(("exc", "reason"), [
    (rx.OutOfMemoryError("command not allowed when used memory > 'maxmemory'."),
     "out_of_memory"),
    (rx.OutOfMemoryError("Command # 1 (ZADD unacked_index 1 a) of pipeline caused error: "
                         "command not allowed when used memory > 'maxmemory'."), "out_of_memory"),
    (rx.ReadOnlyError("You can't write against a read only replica."), "read_only"),
    (rx.ResponseError("MISCONF Redis is configured to save RDB snapshots, but it's currently "
                      "unable to persist to disk."), "cannot_persist"),
    (rx.ResponseError("Command # 2 (SET k v) of pipeline caused error: MISCONF no disk"),
     "cannot_persist"),
    (rx.BusyLoadingError("Redis is loading the dataset in memory"), "loading"),
    (rx.ResponseError("UNBLOCKED force unblock from blocking operation, instance state changed "
                      "(master -> replica?)"), "role_changed"),
    (redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
     "connection_lost"),
    (redis.TimeoutError("Timeout reading from socket"), "connection_lost"),
    (ConnectionResetError(104, "Connection reset by peer"), "connection_lost"),
])
def test_an_outage_is_named_with_its_fix(exc: Exception, reason: str) -> None:
    found = outage(exc)
    assert found is not None and found[0] == reason and found[1]


@pytest.mark.parametrize("exc", [
    rx.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
    rx.ResponseError("NOGROUP No such key 'signalfleet:signals' or consumer group"),
    rx.DataError("Invalid input of type: 'dict'"),
    rx.ResponseError("UNBLOCKED the stream key no longer exists"),  # the ingestor's own case
    ValueError("not Redis at all"),
])
def test_a_bug_is_not_an_outage(exc: Exception) -> None:
    assert outage(exc) is None


def test_wrappers_are_looked_through() -> None:
    """Celery beat wraps a refused publish in SchedulingError, kombu a lost connection in its
    OperationalError."""
    for wrapper in (SchedulingError("Couldn't apply scheduled task"), OperationalError("lost")):
        try:
            try:
                raise rx.OutOfMemoryError("command not allowed")
            except rx.OutOfMemoryError as inner:
                raise wrapper from inner
        except Exception as exc:
            found = outage(exc)
        assert found is not None and found[0] == "out_of_memory"


def test_one_line_when_an_outage_starts_one_when_it_ends_and_backoff_doubles() -> None:
    episode = Episode("ingest", first=0.5, cap=4.0)
    full = rx.OutOfMemoryError("command not allowed when used memory > 'maxmemory'.")
    with capture_logs() as logs:
        delays = [episode.failed(full) for _ in range(6)]
        episode.recovered()
        episode.recovered()  # nothing more to say
    assert [e["event"] for e in logs] == ["redis.unavailable", "redis.recovered"]
    assert logs[0]["process"] == "ingest" and logs[0]["reason"] == "out_of_memory"
    assert "maxmemory" in logs[0]["fix"]
    assert all(0.375 <= d <= 0.5 for d in delays[:1])
    assert all(3.0 <= d <= 4.0 for d in delays[3:])  # 0.5, 1, 2, then capped at 4
    assert delays[1] > delays[0] * 1.4 and delays[2] > delays[1] * 1.4
    with capture_logs() as logs:
        episode.failed(full)  # a new outage: its own line, the backoff from the start again
    assert [e["event"] for e in logs] == ["redis.unavailable"]


def test_an_outage_is_remembered_for_a_while_after_it_ends() -> None:
    episode = Episode("worker")
    assert not episode.seen_within(30)
    episode.failed(redis.ConnectionError("refused"))
    assert episode.active and episode.seen_within(30)
    episode.recovered()
    assert not episode.active and episode.seen_within(30) and not episode.seen_within(0)


def test_one_episode_per_process_named_by_its_entry_point(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_outage, "_process", None)
    first = process_episode()
    assert process_episode("worker") is first and first.who == "worker"
    assert process_episode() is first and first.who == "worker"
    monkeypatch.setattr(os, "getpid", lambda: -1)  # as in a forked pool child
    assert process_episode("task") is not first
