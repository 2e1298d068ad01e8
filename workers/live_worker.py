"""The live worker's start-up (docs/rules.md §12): a worker that consumes the ``live`` queue
must hold the key (``WALLET_n``) of every live wallet assigned to an agent, or it refuses to
start; once it does, it announces the addresses it holds, so the workers without keys (signals,
sweeps) record intents for those wallets and leave the signing to it."""

from __future__ import annotations

from workers.bootstrap import LIVE_KEYS, Container
from workers.handlers.live.keys import missing_keys

LIVE_QUEUE = "live"


class MissingLiveKeys(SystemExit):
    """Raised at start-up: passes through Celery's signal dispatch and ends the process with
    its one-line message."""


def require_live_keys(c: Container) -> None:
    """Refuse to serve the live queue without every assigned wallet's key; then announce."""
    missing = missing_keys(c.deps.uow, c.wallets)
    if missing:
        raise MissingLiveKeys(
            f"error: refusing to serve the live queue: no key loaded for live wallet "
            f"{missing[0]}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            + "; fix: set WALLET_n to that wallet's secret in this worker's environment "
            "(or serve the other queues only)")
    addresses = c.wallets.addresses()
    if addresses:
        c.redis.sadd(LIVE_KEYS, *addresses)
