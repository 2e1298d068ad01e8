"""Operational tasks: a ping that records how long it waited in the queue."""

from __future__ import annotations

import time

from workers.celery_app import app
from workers.runtime import runtime
from workers.tasks.base import FleetTask

PING_LATENCY_KEY = "sf:ops:ping-latency"


@app.task(name="ops.ping", base=FleetTask, bind=True)
def ping(self: FleetTask, sent_at: float | None = None) -> None:
    """With ``sent_at`` (epoch seconds), push the enqueue-to-start delay onto a Redis list."""
    if sent_at is not None:
        runtime().redis.rpush(PING_LATENCY_KEY, f"{time.time() - sent_at:.6f}")
