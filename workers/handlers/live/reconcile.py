"""The reconciler (beat ``live.reconcile``): resolve live swaps a crash left behind.

``submitted`` swaps untouched for a while are resolved by signature status (landed →
the fill is recorded once; expired and never landed → expired; on-chain error → failed;
otherwise the same stored bytes are re-sent and the swap is left for the next run).
Intents never signed within the grace period are failed: nothing was sent for them.
Safe to run twice at once: every outcome is a guarded status transition.
"""

from __future__ import annotations

from datetime import timedelta

import structlog

from domain.errors import TransientError
from domain.submissions import INTENT, SwapSubmission
from workers.handlers.live.record import resolve
from workers.handlers.live.swaps import fail_unsubmitted, send_signed
from workers.handlers.shared.deps import Deps

log = structlog.get_logger(__name__)


def reconcile(deps: Deps, limit: int = 100) -> dict[str, int]:
    """One pass; returns how many submissions ended in each status (or stayed pending)."""
    now, live = deps.clock.now(), deps.live
    with deps.uow() as uow:
        due = uow.submissions.due(now - timedelta(seconds=live.submitted_idle_s),
                                  now - timedelta(seconds=live.intent_grace_s), limit)
    counts: dict[str, int] = {}
    for sub in due:
        outcome = _one(sub, deps)
        counts[outcome] = counts.get(outcome, 0) + 1
    if due:
        log.info("live.reconciled", **counts)
    return counts


def _one(sub: SwapSubmission, deps: Deps) -> str:
    if sub.status == INTENT:
        return fail_unsubmitted(sub, deps)
    try:
        outcome = resolve(sub, deps)
    except TransientError as exc:
        log.warning("live.reconcile_unavailable", submission_id=str(sub.id), error=str(exc))
        return "pending"
    except Exception:  # one bad submission must not stall the others; it stays submitted
        log.exception("live.reconcile_error", submission_id=str(sub.id))
        return "error"
    if outcome is None:
        send_signed(sub, deps)  # still valid and not landed: the same bytes again, never re-signed
        return "pending"
    return outcome
