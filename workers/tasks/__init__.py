"""Thin Celery tasks: ids in, one handler call, transient errors mapped to retries."""

import workers.tasks.heartbeat  # noqa: F401  (beat's heartbeat for `fleet doctor`)
from workers.tasks import (
    balances,
    live,
    maintenance,
    ops,
    positions,
    prices,
    signals,
    wallets,
)

__all__ = ["balances", "live", "maintenance", "ops", "positions", "prices", "signals",
           "wallets"]
