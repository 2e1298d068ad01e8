"""Celery's own logs in a real ``celery worker`` process hold no secret: a task that fails
with a password in its exception text (PostgreSQL echoes the bad argument) is logged by
Celery's tracer with the traceback, and dead-lettered, both with the password redacted."""

from __future__ import annotations

import secrets
from typing import cast

import redis
from celery import Celery

from tests.e2e.conftest import Proc, wait_for
from workers.ingest.dead_letters import DEAD_TASKS_STREAM


def test_a_failing_tasks_exception_text_is_scrubbed(worker: Proc, sender: Celery,
                                                   e2e_redis: redis.Redis) -> None:
    password = "Pw" + secrets.token_urlsafe(18)
    key = "sf_" + secrets.token_urlsafe(32)
    url = f"postgresql+psycopg://signalfleet:{password}@db.internal:5432/sf?note={key}"
    task_id = sender.send_task("signals.fan_out", args=[url], queue="signals").id

    def dead() -> dict[str, str] | None:
        entries = cast("list[tuple[str, dict[str, str]]]",
                       e2e_redis.xrange(DEAD_TASKS_STREAM))
        return next((d for _, d in entries if d["task_id"] == task_id), None)

    entry = wait_for(dead, what="the failed task's dead letter")
    logged = wait_for(lambda: task_id in worker.output() and "raised unexpected"
                      in worker.output() and worker.output(), what="the tracer's log line")
    assert "bigint" in logged and "**redacted**" in logged  # the exception text, scrubbed
    for where, text in (("the worker's log", logged), ("the dead letter", str(entry))):
        assert password not in text and key not in text, f"a secret in {where}"
