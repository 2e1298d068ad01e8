"""Use case: execute one signal for a chunk of agents (docs/rules.md §3, §10 exit signals).

One database transaction for the chunk, one savepoint per agent: every agent's claim, trade,
position and execution row commit together or not at all. Prices are read before it opens.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import partial

import structlog

from domain.errors import InvalidConfig, TransientError
from domain.ports import PriceQuote, UnitOfWork
from domain.signals import Signal
from workers.handlers.shared.configs import trading_config
from workers.handlers.shared.deps import Deps
from workers.handlers.shared.trades import Touched
from workers.handlers.signals.agent import Outcome, Turn, take_turn
from workers.handlers.signals.bulk_open import open_in_bulk

log = structlog.get_logger(__name__)


def execute_signal(signal_id: int, agent_ids: Sequence[uuid.UUID], deps: Deps,
                   signal: Signal | None = None) -> list[Outcome]:
    """``signal`` may be passed by a caller that has just read it (the inline fan-out)."""
    if signal is None:
        with deps.uow() as uow:
            signal = uow.signals.get(signal_id).signal
    quote = deps.prices.get_prices([signal.token_address]).get(signal.token_address)
    batch = _Batch(signal_id, signal, quote, deps)
    try:
        outcomes, processed = batch.run(agent_ids, bulk=True)
    except TransientError:
        raise
    except Exception as exc:  # the bulk step rolled back whole: decide agent by agent instead
        if out_of_time(exc):
            raise
        log.exception("signal.bulk_failed", signal_id=signal_id)
        outcomes, processed = batch.run(agent_ids, bulk=False)
    if not processed:
        with deps.uow() as uow:  # other chunks may have committed since: look again
            processed = uow.signals.mark_processed_if_complete(signal_id, deps.clock.now())
            uow.commit()
    if processed:
        log.info("signal.processed", signal_id=signal_id)
    return outcomes


class _Batch:
    def __init__(self, signal_id: int, signal: Signal, quote: PriceQuote | None,
                 deps: Deps) -> None:
        self.signal_id, self.signal, self.quote, self.deps = signal_id, signal, quote, deps

    def run(self, agent_ids: Sequence[uuid.UUID], bulk: bool) -> tuple[list[Outcome], bool]:
        """One transaction for the chunk: set-based opens first (when ``bulk``), then every
        other agent on its own savepoint; marks the signal processed in the same transaction
        when this chunk completes it (returned as the second value)."""
        touched, deps = Touched(), self.deps
        with deps.uow() as uow:
            if bulk:
                chunk = open_in_bulk(uow, self.signal_id, self.signal, agent_ids, self.quote,
                                     deps)
                outcomes = [Outcome(a, "duplicate", "none", "already_executed")
                            for a in chunk.duplicates] + chunk.decided
                for o in outcomes:
                    _log(self.signal_id, o)
                touched.merge(chunk.touched)
                rest, claimed = chunk.rest, True
            else:
                outcomes, rest, claimed = [], sorted(set(agent_ids)), False
            outcomes += [self._one(uow, agent_id, touched, claimed) for agent_id in rest]
            processed = uow.signals.mark_processed_if_complete(self.signal_id, deps.clock.now())
            uow.after_commit(partial(deps.write_cache, touched))
            uow.commit()
        return outcomes, processed

    def _one(self, uow: UnitOfWork, agent_id: uuid.UUID, touched: Touched,
             claimed: bool) -> Outcome:
        mine = Touched()  # merged only if this agent's savepoint holds
        try:
            with uow.savepoint():
                outcome = self._decide_and_write(uow, agent_id, mine, claimed)
            touched.merge(mine)
            if outcome.submission_id is not None:  # sent only once the intent is committed
                uow.after_commit(partial(self.deps.queue.run_live, outcome.submission_id))
        except TransientError:
            raise
        except Exception as exc:  # unexpected: the savepoint undid this agent's writes only
            if out_of_time(exc):
                raise
            log.exception("signal.execute_failed", signal_id=self.signal_id,
                          agent_id=str(agent_id), error=type(exc).__name__)
            reason = "invalid_config" if isinstance(exc, InvalidConfig) else "unexpected_error"
            outcome = Outcome(agent_id, "FAILED", "none", reason)
            with uow.savepoint():
                if claimed or uow.executions.claim_execution(self.signal_id, agent_id):
                    complete(uow, self.signal_id, outcome, self.deps.clock.now())
        _log(self.signal_id, outcome)
        return outcome

    def _decide_and_write(self, uow: UnitOfWork, agent_id: uuid.UUID, touched: Touched,
                          claimed: bool) -> Outcome:
        if not claimed and not uow.executions.claim_execution(self.signal_id, agent_id):
            return Outcome(agent_id, "duplicate", "none", "already_executed")
        agent, stored_config = uow.agents.lock_with_config(agent_id)
        # Stamped after the lock: a trade this agent waited behind (a sweep's close, another
        # signal's buy) is earlier than this one in the ledger as in fact.
        now = self.deps.clock.now()
        turn = Turn(uow, self.deps, self.signal_id, self.signal, self.quote, now, touched)
        outcome = take_turn(turn, agent, trading_config(stored_config))
        complete(uow, self.signal_id, outcome, now)
        return outcome


def complete(uow: UnitOfWork, signal_id: int, outcome: Outcome, now: datetime) -> None:
    uow.executions.complete(signal_id, outcome.agent_id, status=outcome.status,
                            action=outcome.action, reason=outcome.reason,
                            transaction_id=outcome.transaction_id, now=now)


def _log(signal_id: int, o: Outcome) -> None:
    log.info("signal.executed", signal_id=signal_id, agent_id=str(o.agent_id), status=o.status,
             decision=o.action, reason=o.reason)


def out_of_time(exc: BaseException) -> bool:
    """The task's soft time limit (Celery raises it anywhere): stop, never swallow it — also
    when it surfaces as the database error it caused (the interrupted query's connection fails
    what follows). Named rather than imported so the handlers stay free of Celery."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return False
        if type(seen).__name__ == "SoftTimeLimitExceeded":
            return True
        seen = seen.__context__
    return False
