"""Use case: fan a stored signal out to every eligible agent (docs/rules.md §2), in chunks.

The first chunk runs in this process (no second hop through the queue); the others are
enqueued after the commit. The stream ingestor runs small fan-outs itself (``fan_out_here``):
a signal for a handful of agents is executed with no Celery hop at all."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import partial

import structlog

from domain import entry
from domain.agents import Agent, TokenMetrics
from domain.config import StoredConfig
from domain.eligibility import ineligibility_reasons
from domain.errors import InvalidConfig
from domain.signals import Signal
from workers.handlers.shared.configs import trading_config
from workers.handlers.shared.deps import Deps
from workers.handlers.signals.execute import execute_signal, out_of_time

log = structlog.get_logger(__name__)


def fan_out(signal_id: int, deps: Deps, inline_limit: int | None = None) -> int:
    """Dispatch the agents still without an execution; returns how many were dispatched.
    Safe to run again (the outbox sweeper does): executed agents are never sent twice.
    ``inline_limit``: run the first chunk here only if the signal reaches at most that many
    agents (otherwise every chunk is enqueued)."""
    with deps.uow() as uow:
        stored = uow.signals.get(signal_id)
        if stored.status not in ("pending", "dispatched"):
            return 0
        signal = stored.signal
        exit_ = deps.vocabulary.is_exit(signal.signal_type)
        # An exit also reaches the agents an earlier entry may still open a position for;
        # they wait for it (docs/rules.md §3 "Order per agent and token").
        candidates = uow.agents.candidates(
            user_id=signal.user_id, holding_token=signal.token_address if exit_ else None,
            not_executed_for=signal_id, agent_id=signal.agent_id,
            awaiting=(signal_id, deps.vocabulary.exit) if exit_ else None)
        eligible = _eligible(signal, candidates, deps)
        done = uow.executions.count_for_signal(signal_id)
        uow.signals.mark_dispatched(signal_id, done + len(eligible), deps.clock.now(),
                                   targets=eligible)
        size = deps.policy.fanout_chunk_size
        chunks = [eligible[i:i + size] for i in range(0, len(eligible), size)]
        here = 1 if inline_limit is None or len(eligible) <= inline_limit else 0
        # Only the first fan-out starts retry chains for the agents that must wait for their
        # turn (docs/rules.md §3); a re-run leaves them to those chains or to its next run.
        attempt = 0 if stored.status == "pending" else entry.NO_CHAIN
        for chunk in chunks[here:]:
            uow.after_commit(partial(deps.queue.execute, signal_id, chunk, attempt))
        if not eligible:  # nothing more to come: complete in the same transaction
            uow.signals.mark_processed_if_complete(signal_id, deps.clock.now())
        uow.commit()
    if chunks[:here]:
        execute_signal(signal_id, chunks[0], deps, stored, attempt)
    log.info("signal.fanned_out", signal_id=signal_id, eligible=len(eligible),
             chunks=len(chunks), already_executed=done)
    return len(eligible)


def _eligible(signal: Signal, candidates: Sequence[tuple[Agent, StoredConfig]],
              deps: Deps) -> list[uuid.UUID]:
    metrics: TokenMetrics | None = None
    fetched, exit_ = False, deps.vocabulary.is_exit(signal.signal_type)
    eligible: list[uuid.UUID] = []
    for agent, stored in candidates:
        try:
            config = trading_config(stored)
        except InvalidConfig:
            log.warning("signal.agent_config_invalid", agent_id=str(agent.id))
            continue
        if not fetched and not exit_ and not signal.manual and config.signals.has_metric_bounds:
            metrics, fetched = deps.metrics.metrics_for(signal.token_address), True
        reasons = ineligibility_reasons(agent, config, signal, metrics, deps.vocabulary)
        if reasons:
            log.debug("signal.agent_ineligible", agent_id=str(agent.id), reasons=reasons)
        else:
            eligible.append(agent.id)
    return eligible


def fan_out_here(signal_ids: Sequence[int], deps: Deps) -> None:
    """The low-latency path, for the stream ingestor once a batch has committed: a batch of
    at most ``policy.inline_signals`` signals fans out in this process, and a signal reaching
    at most ``policy.inline_agents`` agents is executed here too, with no Celery hop. Larger
    fan-outs and batches go to the workers. The guarantees are the fan-out's own (one claim
    per agent, the order rule, the outbox): a failure here (the database away, a row lock not
    granted in time) hands the rest to the workers; a crash leaves them to the sweeper."""
    ids, policy = list(signal_ids), deps.policy
    if not ids:
        return
    if not policy.inline_agents or len(ids) > policy.inline_signals:
        deps.queue.fan_out(ids)
        return
    for i, signal_id in enumerate(ids):
        try:
            fan_out(signal_id, deps, inline_limit=policy.inline_agents)
        except Exception as exc:
            if out_of_time(exc):
                raise
            log.warning("signal.inline_handed_on", signal_id=signal_id,
                        error=type(exc).__name__, to="workers")
            deps.queue.fan_out(ids[i:])
            return


def requeue_stale(deps: Deps) -> int:
    """The outbox sweeper: re-enqueue the fan-out of signals still unfinished after the
    grace period (a crash between a commit and its enqueue, a lost message)."""
    with deps.uow() as uow:
        stale = uow.signals.unfinished_before(deps.clock.now(), deps.policy.pending_grace)
    for signal_id in stale:
        deps.queue.fan_out([signal_id])
    if stale:
        log.info("signals.requeued", count=len(stale))
    return len(stale)
