"""Use case: execute one signal for a chunk of agents (SPEC §4, §7 exit signals).

One database transaction for the chunk, one savepoint per agent: every agent's claim, trade,
position and execution row commit together or not at all. Prices are read before it opens.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from domain.errors import InvalidConfig, TransientError
from domain.ports import Clock, PriceFeed, PriceQuote, SwapExecutor, UnitOfWork
from domain.signals import Signal
from workers.handlers import entries
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


@dataclass(frozen=True)
class ExecutionDeps:
    uow: Callable[[], UnitOfWork]
    prices: PriceFeed
    swaps: Callable[[str, str], SwapExecutor | None]  # (mode, wallet address) → executor
    write_cache: Callable[[Touched], None]
    clock: Clock
    rng: random.Random
    max_open_positions: int


def execute_signal(signal_id: int, agent_ids: Sequence[uuid.UUID],
                   deps: ExecutionDeps) -> list[Outcome]:
    with deps.uow() as uow:
        signal = uow.signals.get(signal_id).signal
    quote = deps.prices.get_prices([signal.token_address]).get(signal.token_address)
    now = deps.clock.now()
    touched = Touched()
    with deps.uow() as uow:
        outcomes = [_one(uow, signal_id, signal, agent_id, quote, deps, now, touched)
                    for agent_id in sorted(set(agent_ids))]
        uow.after_commit(lambda: deps.write_cache(touched))
        uow.commit()
    with deps.uow() as uow:
        if uow.signals.mark_processed_if_complete(signal_id, deps.clock.now()):
            uow.commit()
            log.info("signal.processed", signal_id=signal_id)
    return outcomes


def _one(uow: UnitOfWork, signal_id: int, signal: Signal, agent_id: uuid.UUID,
         quote: PriceQuote | None, deps: ExecutionDeps, now: datetime,
         touched: Touched) -> Outcome:
    mine = Touched()  # merged only if this agent's savepoint holds
    try:
        with uow.savepoint():
            outcome = _decide_and_write(uow, signal_id, signal, agent_id, quote, deps, now,
                                        mine)
        touched.merge(mine)
    except TransientError:
        raise
    except Exception as exc:  # unexpected: the savepoint undid this agent's writes only
        log.exception("signal.execute_failed", signal_id=signal_id, agent_id=str(agent_id),
                      error=type(exc).__name__)
        reason = "invalid_config" if isinstance(exc, InvalidConfig) else "unexpected_error"
        outcome = Outcome(agent_id, "FAILED", "none", reason)
        with uow.savepoint():
            if uow.executions.claim_execution(signal_id, agent_id):
                _complete(uow, signal_id, outcome, now)
    log.info("signal.executed", signal_id=signal_id, agent_id=str(agent_id),
             status=outcome.status, decision=outcome.action, reason=outcome.reason)
    return outcome


def _decide_and_write(uow: UnitOfWork, signal_id: int, signal: Signal, agent_id: uuid.UUID,
                      quote: PriceQuote | None, deps: ExecutionDeps, now: datetime,
                      touched: Touched) -> Outcome:
    if not uow.executions.claim_execution(signal_id, agent_id):
        return Outcome(agent_id, "duplicate", "none", "already_executed")
    agent, stored_config = uow.agents.lock_with_config(agent_id)
    ctx = entries.AgentContext(agent, trading_config(stored_config), signal_id, now, deps.rng,
                               deps.max_open_positions)
    result = (entries.exit_signal if signal.is_exit else entries.entry_signal)(
        uow, ctx, signal, quote, deps.swaps, touched)
    outcome = Outcome(agent_id, result.status, result.action, result.reason,
                      result.transaction_id)
    _complete(uow, signal_id, outcome, now)
    return outcome


def _complete(uow: UnitOfWork, signal_id: int, outcome: Outcome, now: datetime) -> None:
    uow.executions.complete(signal_id, outcome.agent_id, status=outcome.status,
                            action=outcome.action, reason=outcome.reason,
                            transaction_id=outcome.transaction_id, now=now)
