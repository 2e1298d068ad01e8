"""Use case: fan a stored signal out to every eligible agent (docs/rules.md §2), in chunks."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from domain.agents import Agent, TokenMetrics
from domain.eligibility import ineligibility_reasons
from domain.errors import InvalidConfig
from domain.ports import Clock, UnitOfWork
from domain.signals import Signal
from domain.vocabulary import DEFAULT_VOCABULARY, Vocabulary
from workers.handlers.configs import trading_config

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class FanOutDeps:
    uow: Callable[[], UnitOfWork]
    dispatch: Callable[[int, list[uuid.UUID]], None]  # enqueue signals.execute
    metrics: Callable[[str], TokenMetrics | None]
    clock: Clock
    chunk_size: int
    # Runs the first chunk in this process instead of a second hop through the queue.
    execute_inline: Callable[[int, list[uuid.UUID], Signal], object] | None = None
    vocabulary: Vocabulary = DEFAULT_VOCABULARY  # which signal types exit


def fan_out(signal_id: int, deps: FanOutDeps) -> int:
    """Dispatch the agents still without an execution; returns how many were dispatched.
    Safe to run again (the outbox sweeper does): executed agents are never sent twice."""
    with deps.uow() as uow:
        stored = uow.signals.get(signal_id)
        if stored.status not in ("pending", "dispatched"):
            return 0
        signal = stored.signal
        exit_ = deps.vocabulary.is_exit(signal.signal_type)
        candidates = uow.agents.candidates(
            user_id=signal.user_id, holding_token=signal.token_address if exit_ else None,
            not_executed_for=signal_id)
        eligible = _eligible(signal, candidates, deps.metrics, deps.vocabulary)
        done = uow.executions.count_for_signal(signal_id)
        uow.signals.mark_dispatched(signal_id, done + len(eligible), deps.clock.now())
        chunks = [eligible[i:i + deps.chunk_size] for i in range(0, len(eligible), deps.chunk_size)]
        inline = chunks[0] if chunks and deps.execute_inline is not None else None
        queued = chunks[1:] if inline is not None else chunks
        uow.after_commit(lambda: [deps.dispatch(signal_id, chunk) for chunk in queued])
        uow.commit()
    if inline is not None and deps.execute_inline is not None:
        deps.execute_inline(signal_id, inline, signal)
    if not eligible:
        with deps.uow() as uow:
            if uow.signals.mark_processed_if_complete(signal_id, deps.clock.now()):
                uow.commit()
    log.info("signal.fanned_out", signal_id=signal_id, eligible=len(eligible),
             chunks=len(chunks), already_executed=done)
    return len(eligible)


def _eligible(signal: Signal, candidates: Sequence[tuple[Agent, dict[str, Any] | None]],
              metrics_for: Callable[[str], TokenMetrics | None],
              vocabulary: Vocabulary) -> list[uuid.UUID]:
    metrics: TokenMetrics | None = None
    fetched = False
    eligible: list[uuid.UUID] = []
    for agent, stored in candidates:
        try:
            config = trading_config(stored)
        except InvalidConfig:
            log.warning("signal.agent_config_invalid", agent_id=str(agent.id))
            continue
        if not fetched and not vocabulary.is_exit(signal.signal_type) \
                and config.signals.has_metric_bounds:
            metrics, fetched = metrics_for(signal.token_address), True
        reasons = ineligibility_reasons(agent, config, signal, metrics, vocabulary)
        if reasons:
            log.debug("signal.agent_ineligible", agent_id=str(agent.id), reasons=reasons)
        else:
            eligible.append(agent.id)
    return eligible
