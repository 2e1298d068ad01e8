"""The base of every signalfleet task: log context, an attempt cap that dead-letters a poison
message, and retries with backoff + jitter for transient errors only: a lost database
connection, a serialisation failure, and the soft time limit (the unit of work has discarded
the connection it interrupted). While Redis refuses writes (out of memory, read-only) or is
unreachable, a task's message is put back, or left unacknowledged for the broker's lease to
restore (workers/broker.py), never dropped: a retry that cannot be published would be lost."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import redis
import structlog
from celery import Task
from celery.exceptions import Reject, SoftTimeLimitExceeded

from domain.errors import TransientError
from persistence.redis_outage import outage, process_episode
from workers.bootstrap import container
from workers.celery_app import app
from workers.ingest.dead_letters import DEAD_TASKS_STREAM, dead_task  # noqa: F401  (re-exported)

log = structlog.get_logger(__name__)
DELIVERY_KEY = "sf:deliveries:{}"
P = ParamSpec("P")
R = TypeVar("R")


class FleetTask(Task):  # type: ignore[misc]
    abstract = True
    autoretry_for = (TransientError, SoftTimeLimitExceeded)
    retry_backoff = 1
    retry_backoff_max = 60
    retry_jitter = True
    max_deliveries = 5  # a message redelivered this often (worker killed each time) is poison

    @property
    def max_retries(self) -> int:
        """Retries of a transient failure (``SIGNALFLEET_TASK_MAX_RETRIES``), then it fails."""
        return container().settings.task_max_retries

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(task=self.name, task_id=request.id)
        episode = process_episode("task")  # one line per Redis outage per pool process
        try:
            if request.id and not request.called_directly and self._poisoned(request, args):
                return None
            return super().__call__(*args, **kwargs)
        except redis.RedisError as exc:
            if outage(exc) is None:
                raise
            episode.failed(exc)
            raise Reject(exc, requeue=True) from exc

    def retry(self, *args: Any, **kwargs: Any) -> Any:
        """Celery drops the message when the retry cannot be published (Redis full or
        gone): put it back instead, or leave it to the lease if Redis refuses that too."""
        try:
            return super().retry(*args, **kwargs)
        except Reject as exc:
            reason = exc.reason
            if exc.requeue or not isinstance(reason, Exception) or outage(reason) is None:
                raise
            process_episode().failed(reason)
            raise Reject(reason, requeue=True) from reason

    def _poisoned(self, request: Any, args: tuple[Any, ...]) -> bool:
        """Count deliveries of this message (retries are new messages with the same id)."""
        r = container().redis
        key = DELIVERY_KEY.format(request.id)
        deliveries = cast(int, r.incr(key))
        process_episode().recovered()
        r.expire(key, 86_400)
        if deliveries - (request.retries or 0) <= self.max_deliveries:
            return False
        dead_task(r, self.name, request.id, args, f"delivered {deliveries} times")
        log.error("task.dead_lettered", deliveries=deliveries)
        return True

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any,
                   einfo: Any) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        try:
            dead_task(container().redis, self.name, task_id, args, reason)
        except redis.RedisError as failed:
            if outage(failed) is None:
                raise
            log.error("task.dead_letter_unrecorded", args=str(args)[:4096],
                      reason=reason[:500])  # Redis refuses writes: the log is the only record
        log.error("task.failed", error=type(exc).__name__)


def fleet_task(name: str) -> Callable[[Callable[Concatenate[FleetTask, P], R]], Callable[P, R]]:
    """Register a bound ``FleetTask`` under its stable name; typed, where Celery's own
    decorator is not (the task is sent by name, ``TaskQueue`` in workers/bootstrap.py)."""

    def register(fn: Callable[Concatenate[FleetTask, P], R]) -> Callable[P, R]:
        task: Callable[P, R] = app.task(name=name, base=FleetTask, bind=True)(fn)
        return task

    return register
