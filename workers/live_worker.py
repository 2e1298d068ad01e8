"""The live worker's start-up (docs/rules.md §12): a worker that consumes the ``live`` queue
must hold the key (``WALLET_n``) of every live wallet assigned to an agent, or it refuses to
start; once it does, it announces the addresses it holds, so the workers without keys (signals,
sweeps) record intents for those wallets and leave the signing to it."""

from __future__ import annotations

import uuid

import structlog

from domain.errors import TransientError
from domain.submissions import INTENT
from workers.bootstrap import LIVE_KEYS, Container
from workers.handlers.live.keys import missing_keys

LIVE_QUEUE = "live"

log = structlog.get_logger(__name__)


class KeyHeldElsewhere(TransientError):
    """A swap to sign for a wallet whose key this live worker lacks but another announced:
    retried (the retry may reach the worker holding it), never run or failed here."""


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


def require_key_for(c: Container, submission_id: uuid.UUID) -> None:
    """Run ``live.execute`` only where it can sign (docs/rules.md §12). A wallet assigned
    after this worker started (the start-up check passed without it) whose key another live
    worker announced: raise ``KeyHeldElsewhere``, so the task is retried rather than the swap
    failed ``wallet_not_loaded`` here. A swap already signed needs no key (its stored bytes
    are re-sent); a key held nowhere is left to the handler, which fails the swap."""
    with c.deps.uow() as uow:
        sub = uow.submissions.get(submission_id)
    address = sub.wallet_address
    if sub.status != INTENT or address in c.wallets or not c.redis.sismember(LIVE_KEYS, address):
        return
    log.warning("live.key_held_elsewhere", submission_id=str(submission_id), wallet=address,
                fix="set that wallet's WALLET_n on every live worker and restart them")
    raise KeyHeldElsewhere(f"no key for live wallet {address} in this worker (another live "
                           "worker announced it): retried")
