"""The beat schedule. Every job is safe to run twice (idempotent handlers, advisory locks)."""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

from workers.settings import Settings

HOUR = 3600


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        "live.reconcile": {
            "task": "live.reconcile",
            "schedule": settings.live_reconcile_seconds,
            "options": {"expires": settings.live_reconcile_seconds * 2},
        },
        "signals.requeue_stale": {
            "task": "signals.requeue_stale",
            "schedule": settings.requeue_stale_seconds,
            "options": {"expires": settings.requeue_stale_seconds * 2},
        },
        "prices.refresh": {
            "task": "prices.refresh",
            "schedule": settings.prices_refresh_seconds,
            "options": {"expires": settings.prices_refresh_seconds * 2},
        },
        "positions.sweep": {
            "task": "positions.sweep",
            "schedule": settings.positions_sweep_seconds,
            "options": {"expires": settings.positions_sweep_seconds * 2},
        },
        "balances.snapshot": {
            "task": "balances.snapshot",
            "schedule": crontab(minute=0),
            "options": {"expires": HOUR // 2},
        },
    }
