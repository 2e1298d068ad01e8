"""The beat schedule. Every job is safe to run twice (idempotent handlers, advisory locks)."""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

from workers.settings import Settings

HOUR = 3600


def _every(task: str, seconds: float) -> dict[str, Any]:
    """Run ``task`` every ``seconds``; a run still queued after two intervals is dropped
    (the next one does the same work)."""
    return {"task": task, "schedule": seconds, "options": {"expires": seconds * 2}}


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    intervals = {
        "live.reconcile": settings.live_reconcile_seconds,
        "signals.requeue_stale": settings.requeue_stale_seconds,
        "prices.refresh": settings.prices_refresh_seconds,
        "positions.sweep": settings.positions_sweep_seconds,
        "ops.downsample_prices": settings.price_downsample_seconds,
        "wallets.sync": settings.wallet_sync_seconds,
    }
    schedule = {task: _every(task, seconds) for task, seconds in intervals.items()}
    schedule["balances.snapshot"] = {  # the top of every UTC hour
        "task": "balances.snapshot", "schedule": crontab(minute=0),
        "options": {"expires": HOUR // 2}}
    return schedule
