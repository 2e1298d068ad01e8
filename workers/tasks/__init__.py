"""Thin Celery tasks: ids in, one handler call, transient errors mapped to retries."""

from workers.tasks import signals

__all__ = ["signals"]
