"""Use case: execute one signal for a chunk of agents (docs/rules.md §3, §10 exit signals).

One database transaction for the chunk, one savepoint per agent: every agent's claim, trade,
position and execution row commit together or not at all. Prices are read before it opens.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import structlog

from domain.errors import InvalidConfig, TransientError
from domain.ports import Clock, PriceFeed, PriceQuote, SwapExecutor, UnitOfWork
from domain.signals import Signal
from domain.vocabulary import DEFAULT_VOCABULARY, Vocabulary
from workers.handlers import entries
from workers.handlers.bulk_open import open_in_bulk
from workers.handlers.configs import trading_config
from workers.handlers.trades import Touched

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Outcome:
    agent_id: uuid.UUID
    status: str  # EXECUTED / SKIPPED / FAILED, or "duplicate" when already executed
    action: str
    reason: str | None = None
    transaction_id: uuid.UUID | None = None
    submission_id: uuid.UUID | None = None  # a live swap, handed to live.execute


def _no_live_swaps(submission_id: uuid.UUID) -> None:
    raise RuntimeError("no live.execute dispatcher configured")


@dataclass(frozen=True)
class ExecutionDeps:
    uow: Callable[[], UnitOfWork]
    prices: PriceFeed
    swaps: Callable[[str, str], SwapExecutor | None]  # (mode, wallet address) → executor
    write_cache: Callable[[Touched], None]
    clock: Clock
    rng: random.Random
    max_open_positions: int
    submit_live: Callable[[uuid.UUID], None] = _no_live_swaps  # enqueue live.execute
    vocabulary: Vocabulary = DEFAULT_VOCABULARY  # which signal types exit


def execute_signal(signal_id: int, agent_ids: Sequence[uuid.UUID], deps: ExecutionDeps,
                   signal: Signal | None = None) -> list[Outcome]:
    """``signal`` may be passed by a caller that has just read it (the inline fan-out)."""
    if signal is None:
        with deps.uow() as uow:
            signal = uow.signals.get(signal_id).signal
    quote = deps.prices.get_prices([signal.token_address]).get(signal.token_address)
    now = deps.clock.now()
    try:
        outcomes, processed = _chunk(signal_id, signal, agent_ids, quote, deps, now, bulk=True)
    except TransientError:
        raise
    except Exception as exc:  # the bulk step rolled back whole: decide agent by agent instead
        if _out_of_time(exc):
            raise
        log.exception("signal.bulk_failed", signal_id=signal_id)
        outcomes, processed = _chunk(signal_id, signal, agent_ids, quote, deps, now, bulk=False)
    if processed:
        log.info("signal.processed", signal_id=signal_id)
        return outcomes
    with deps.uow() as uow:  # other chunks may have committed since: look again
        if uow.signals.mark_processed_if_complete(signal_id, deps.clock.now()):
            uow.commit()
            log.info("signal.processed", signal_id=signal_id)
    return outcomes


def _chunk(signal_id: int, signal: Signal, agent_ids: Sequence[uuid.UUID],
           quote: PriceQuote | None, deps: ExecutionDeps, now: datetime,
           bulk: bool) -> tuple[list[Outcome], bool]:
    """One transaction for the chunk: set-based opens first (when ``bulk``), then every
    other agent on its own savepoint; marks the signal processed in the same transaction
    when this chunk completes it (returned as the second value)."""
    touched = Touched()
    with deps.uow() as uow:
        if bulk and not deps.vocabulary.is_exit(signal.signal_type):  # exits: agent by agent
            chunk = open_in_bulk(uow, signal_id, signal, agent_ids, quote, deps.swaps,
                                 deps.rng, deps.max_open_positions, deps.clock, touched)
            outcomes = [Outcome(a, "duplicate", "none", "already_executed")
                        for a in chunk.duplicates] + [Outcome(*d) for d in chunk.decided]
            for o in outcomes:
                log.info("signal.executed", signal_id=signal_id, agent_id=str(o.agent_id),
                         status=o.status, decision=o.action, reason=o.reason)
            rest, claimed = chunk.rest, True
        else:
            outcomes, rest, claimed = [], sorted(set(agent_ids)), False
        outcomes += [_one(uow, signal_id, signal, agent_id, quote, deps, now, touched, claimed)
                     for agent_id in rest]
        processed = uow.signals.mark_processed_if_complete(signal_id, now)
        uow.after_commit(lambda: deps.write_cache(touched))
        uow.commit()
    return outcomes, processed


def _one(uow: UnitOfWork, signal_id: int, signal: Signal, agent_id: uuid.UUID,
         quote: PriceQuote | None, deps: ExecutionDeps, now: datetime,
         touched: Touched, claimed: bool = False) -> Outcome:
    mine = Touched()  # merged only if this agent's savepoint holds
    try:
        with uow.savepoint():
            outcome = _decide_and_write(uow, signal_id, signal, agent_id, quote, deps, now,
                                        mine, claimed)
        touched.merge(mine)
        if outcome.submission_id is not None:  # sent only once the intent is committed
            uow.after_commit(partial(deps.submit_live, outcome.submission_id))
    except TransientError:
        raise
    except Exception as exc:  # unexpected: the savepoint undid this agent's writes only
        if _out_of_time(exc):
            raise
        log.exception("signal.execute_failed", signal_id=signal_id, agent_id=str(agent_id),
                      error=type(exc).__name__)
        reason = "invalid_config" if isinstance(exc, InvalidConfig) else "unexpected_error"
        outcome = Outcome(agent_id, "FAILED", "none", reason)
        with uow.savepoint():
            if claimed or uow.executions.claim_execution(signal_id, agent_id):
                _complete(uow, signal_id, outcome, now)
    log.info("signal.executed", signal_id=signal_id, agent_id=str(agent_id),
             status=outcome.status, decision=outcome.action, reason=outcome.reason)
    return outcome


def _decide_and_write(uow: UnitOfWork, signal_id: int, signal: Signal, agent_id: uuid.UUID,
                      quote: PriceQuote | None, deps: ExecutionDeps, now: datetime,
                      touched: Touched, claimed: bool = False) -> Outcome:
    if not claimed and not uow.executions.claim_execution(signal_id, agent_id):
        return Outcome(agent_id, "duplicate", "none", "already_executed")
    agent, stored_config = uow.agents.lock_with_config(agent_id)
    # Stamped after the lock: a trade this agent waited behind (a sweep's close, another
    # signal's buy) is earlier than this one in the ledger as in fact.
    now = max(now, deps.clock.now())
    ctx = entries.AgentContext(agent, trading_config(stored_config), signal_id, now, deps.rng,
                               deps.max_open_positions)
    exit_ = deps.vocabulary.is_exit(signal.signal_type)
    result = (entries.exit_signal if exit_ else entries.entry_signal)(
        uow, ctx, signal, quote, deps.swaps, touched)
    outcome = Outcome(agent_id, result.status, result.action, result.reason,
                      result.transaction_id, result.submission_id)
    _complete(uow, signal_id, outcome, now)
    return outcome


def _complete(uow: UnitOfWork, signal_id: int, outcome: Outcome, now: datetime) -> None:
    uow.executions.complete(signal_id, outcome.agent_id, status=outcome.status,
                            action=outcome.action, reason=outcome.reason,
                            transaction_id=outcome.transaction_id, now=now)


def _out_of_time(exc: BaseException) -> bool:
    """The task's soft time limit (Celery raises it anywhere): stop, never swallow it. Named
    rather than imported so the handlers stay free of Celery."""
    return type(exc).__name__ == "SoftTimeLimitExceeded"
