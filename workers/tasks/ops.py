"""Operational tasks: a ping that records how long it waited in the queue."""

from __future__ import annotations

import time

from workers.bootstrap import container
from workers.tasks.base import FleetTask, fleet_task

PING_LATENCY_KEY = "sf:ops:ping-latency"


@fleet_task("ops.ping")
def ping(self: FleetTask, sent_at: float | None = None) -> None:
    """With ``sent_at`` (epoch seconds), push the enqueue-to-start delay onto a Redis list."""
    if sent_at is not None:
        container().redis.rpush(PING_LATENCY_KEY, f"{time.time() - sent_at:.6f}")
