"""Beat's heartbeat for ``fleet doctor``: every task the beat process publishes refreshes
``sf:beat:heartbeat`` (epoch seconds). No task of its own: the schedule's jobs (every few
seconds) are the pulse. Never in the way of publishing: a Redis error is only logged."""

from __future__ import annotations

import time
from typing import Any

import redis
import structlog
from celery.signals import beat_init, before_task_publish

from persistence.redis_outage import outage, process_episode
from workers.doctor import BEAT_HEARTBEAT_KEY

log = structlog.get_logger(__name__)
HEARTBEAT_TTL_SECONDS = 24 * 3600
_in_beat = False


def beat_heartbeat(client: redis.Redis | None = None) -> None:
    try:
        if client is None:
            from workers.bootstrap import container

            client = container().redis
        client.set(BEAT_HEARTBEAT_KEY, f"{time.time():.3f}", ex=HEARTBEAT_TTL_SECONDS)
    except redis.RedisError as exc:
        if outage(exc) is None:
            log.warning("beat.heartbeat_failed", error=type(exc).__name__)
        else:  # beat's one line per Redis outage
            process_episode("beat").failed(exc)


def _beat_started(**_: Any) -> None:
    global _in_beat
    _in_beat = True
    beat_heartbeat()


def _published(**_: Any) -> None:
    if _in_beat:
        beat_heartbeat()


# Celery's signal decorators are untyped: connect the typed functions by call.
beat_init.connect(_beat_started)
before_task_publish.connect(_published)
