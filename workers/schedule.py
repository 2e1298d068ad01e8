"""The beat schedule. Every job is safe to run twice (idempotent handlers, advisory locks)."""

from __future__ import annotations

from typing import Any

from workers.settings import Settings


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        "signals.requeue_stale": {
            "task": "signals.requeue_stale",
            "schedule": settings.requeue_stale_seconds,
            "options": {"expires": settings.requeue_stale_seconds * 2},
        },
    }
