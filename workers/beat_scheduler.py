"""Celery beat's scheduler, unchanged but for Redis outages: a due job that cannot be
published (Redis out of memory, read-only or unreachable) is skipped — the next run does the
same work (workers/schedule.py) — with one log line when the outage starts and one when a
publish goes through again, instead of an error and a stack trace per job per tick."""

from __future__ import annotations

from typing import Any

import structlog
from celery.beat import PersistentScheduler

from persistence.redis_outage import outage, process_episode

log = structlog.get_logger(__name__)



class Scheduler(PersistentScheduler):  # type: ignore[misc]
    def apply_entry(self, entry: Any, producer: Any = None) -> None:
        try:
            self.apply_async(entry, producer=producer, advance=False)
        except Exception as exc:
            if outage(exc) is None:  # as Celery's own scheduler: log it, keep beating
                log.exception("beat.publish_failed", job=entry.name)
            else:
                process_episode("beat").failed(exc)
            return
        process_episode("beat").recovered()
