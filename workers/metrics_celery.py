"""Celery's task signals → the task and execution metrics (``workers/metrics.py``). Imported
by the worker (``celery_app`` includes it); each pool child counts into the shared
multiprocess directory."""

from __future__ import annotations

from typing import Any

import structlog
from celery.signals import task_postrun, task_prerun

from workers import metrics

log = structlog.get_logger(__name__)


@task_prerun.connect  # type: ignore[untyped-decorator]
def _prerun(task_id: str | None = None, **_: Any) -> None:
    metrics.task_started(task_id or "")


@task_postrun.connect  # type: ignore[untyped-decorator]
def _postrun(task_id: str | None = None, task: Any = None, state: str | None = None,
             **_: Any) -> None:
    try:
        metrics.task_finished(task_id or "", getattr(task, "name", "?"), state,
                              metrics.received_at)
    except Exception as exc:  # metrics never fail a task that already ran
        log.warning("metrics.task_hook_failed", error=type(exc).__name__)
