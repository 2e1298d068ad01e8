"""Redis refusing work, as every long-running process sees it: out of memory (``maxmemory``
reached under ``noeviction``), a read-only replica, a failed persistence (MISCONF), a server
still loading its data, or the connection lost. None of them is a reason to exit: the
process backs off and tries again, and an operator reads ONE line when the outage starts
(what failed and the fix) and one when it ends, never a line per attempt.
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass, field

import redis
import structlog

log = structlog.get_logger(__name__)

# Error replies Redis answers while it refuses writes, by their leading code.
_REFUSALS = {
    "OOM": ("out_of_memory", "used memory is above maxmemory: free memory in Redis or raise "
                             "its maxmemory (`fleet doctor` shows the usage)"),
    "READONLY": ("read_only", "Redis is a read-only replica: point SIGNALFLEET_REDIS_URL / "
                              "SIGNALFLEET_BROKER_URL at the primary"),
    "MISCONF": ("cannot_persist", "Redis cannot write its snapshot or AOF: check the disk "
                                  "space and permissions of its data directory"),
    "LOADING": ("loading", "Redis is loading its data after a restart: wait"),
    "MASTERDOWN": ("primary_down", "the replica lost its primary: restore the primary"),
    "NOREPLICAS": ("no_replicas", "not enough replicas for min-replicas-to-write"),
    # a blocked read cut short because the server turned into a replica (not a deleted key)
    "UNBLOCKED": ("role_changed", "Redis turned into a replica: point SIGNALFLEET_REDIS_URL / "
                                  "SIGNALFLEET_BROKER_URL at the primary"),
}
_CONNECTION = ("connection_lost", "start Redis or fix SIGNALFLEET_REDIS_URL / "
                                  "SIGNALFLEET_BROKER_URL")


def outage(exc: BaseException) -> tuple[str, str] | None:
    """``(reason, fix)`` when ``exc`` means Redis is unavailable or refusing writes (wait and
    try again); None for any other error (a bug, a wrong type, a missing key). Looks through
    wrappers (kombu's OperationalError, Celery's SchedulingError) to their cause."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return None
        found = _direct(seen)
        if found is not None:
            return found
        seen = seen.__cause__ or seen.__context__
    return None


def _direct(exc: BaseException) -> tuple[str, str] | None:
    # redis-py turns the reply's code into the class and strips it from the text ...
    for cls, code in _CLASSES:
        if isinstance(exc, cls):
            return _REFUSALS[code]
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError | OSError):
        return _CONNECTION
    if isinstance(exc, redis.ResponseError):
        # ... except for these: "MISCONF …", or in a pipeline "Command # 1 (…) of pipeline
        # caused error: MISCONF …"
        text = str(exc).rsplit("caused error: ", 1)[-1]
        code = text.split(" ", 1)[0].upper()
        if code == "UNBLOCKED" and "instance state changed" not in text:
            return None
        return _REFUSALS.get(code)
    return None


_CLASSES = ((redis.exceptions.OutOfMemoryError, "OOM"),
            (redis.exceptions.ReadOnlyError, "READONLY"),
            (redis.exceptions.BusyLoadingError, "LOADING"),
            (redis.exceptions.MasterDownError, "MASTERDOWN"))


@dataclass
class Episode:
    """One outage of Redis seen by one process (``who``): ``failed`` logs once when it starts
    and returns how long to wait before the next attempt (doubling from ``first`` to ``cap``,
    with jitter); ``recovered`` logs once when an attempt succeeds again. Thread-safe."""

    who: str
    first: float = 0.2
    cap: float = 5.0
    started: float | None = None
    ended: float | None = None
    _delay: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def active(self) -> bool:
        return self.started is not None

    def failed(self, exc: BaseException) -> float:
        reason, fix = outage(exc) or ("error", "see the error")
        with self._lock:
            if self.started is None:
                self.started, self._delay = time.monotonic(), self.first
                log.warning("redis.unavailable", process=self.who, reason=reason,
                            error=_first_line(exc), fix=fix,
                            action="retrying with backoff; nothing is lost meanwhile")
            else:
                self._delay = min(self.cap, self._delay * 2)
            return self._delay * random.uniform(0.75, 1.0)

    def recovered(self) -> None:
        if self.started is None:
            return
        with self._lock:
            if self.started is None:
                return
            self.ended = time.monotonic()
            seconds = round(self.ended - self.started, 1)
            self.started = None
        log.info("redis.recovered", process=self.who, after_seconds=seconds)

    def seen_within(self, seconds: float) -> bool:
        """Whether an outage is under way or ended less than ``seconds`` ago."""
        return self.started is not None or (
            self.ended is not None and time.monotonic() - self.ended < seconds)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


_process: tuple[int, Episode] | None = None


def process_episode(who: str | None = None) -> Episode:
    """This process's episode, shared by everything in it that talks to Redis (one line per
    outage per process); entry points pass ``who`` to name the process in that line. A forked
    child (a Celery pool process) gets its own."""
    global _process
    if _process is None or _process[0] != os.getpid():
        _process = (os.getpid(), Episode(who or "process"))
    episode = _process[1]
    if who is not None:
        episode.who = who
    return episode
