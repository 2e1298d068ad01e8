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

from domain import entry
from domain.errors import InvalidConfig, TransientError
from domain.ports import PriceQuote, UnitOfWork
from domain.records import StoredSignal
from domain.signals import Signal
from workers.handlers.shared.configs import trading_config
from workers.handlers.shared.deps import Deps
from workers.handlers.shared.trades import Touched
from workers.handlers.signals.agent import WAIT, Outcome, Turn, take_turn
from workers.handlers.signals.bulk_open import open_in_bulk

log = structlog.get_logger(__name__)


def execute_signal(signal_id: int, agent_ids: Sequence[uuid.UUID], deps: Deps,
                   stored: StoredSignal | None = None, attempt: int = 0) -> list[Outcome]:
    """``stored`` may be passed by a caller that has just read it (the inline fan-out).
    Agents whose turn has not come (docs/rules.md §3) are sent again, ``attempt`` + 1."""
    if stored is None:
        with deps.uow() as uow:
            stored = uow.signals.get(signal_id)
    token = stored.signal.token_address
    quote = deps.prices.get_prices([token]).get(token)
    waited = deps.clock.now() - stored.received_at > deps.policy.signal_max_wait
    batch = _Batch(signal_id, stored.signal, quote, deps, waited)
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
    waiting = [o.agent_id for o in outcomes if o.status == WAIT]
    if waiting and attempt != entry.NO_CHAIN:  # nothing of theirs was committed: looked
        # at again later (a re-fan-out's leaves them to its own chain or the next re-run)
        deps.queue.execute(signal_id, waiting, attempt + 1, entry.retry_delay(attempt))
    return outcomes


class _Batch:
    def __init__(self, signal_id: int, signal: Signal, quote: PriceQuote | None,
                 deps: Deps, waited: bool) -> None:
        self.signal_id, self.signal, self.quote, self.deps = signal_id, signal, quote, deps
        self.waited = waited  # waited its longest: a turn still not come FAILs now

    def run(self, agent_ids: Sequence[uuid.UUID], bulk: bool) -> tuple[list[Outcome], bool]:
        """One transaction for the chunk: the agents whose turn has not come wait; then
        set-based opens (when ``bulk``), then every other agent on its own savepoint; marks
        the signal processed in the same transaction when this chunk completes it
        (returned as the second value)."""
        touched, deps = Touched(), self.deps
        with deps.uow() as uow:
            ahead = uow.signals.ahead_of(self.signal_id, agent_ids)
            outcomes = [self._wait(uow, a, entry.wait_for(ahead[a]), False) for a in ahead]
            go = sorted(set(agent_ids) - set(ahead))
            if bulk:
                chunk = open_in_bulk(uow, self.signal_id, self.signal, go, self.quote, deps)
                outcomes += [Outcome(a, "duplicate", "none", "already_executed")
                             for a in chunk.duplicates] + chunk.decided
                touched.merge(chunk.touched)
                rest, claimed = chunk.rest, True
            else:
                rest, claimed = go, False
            for o in outcomes:
                _log(self.signal_id, o)
            outcomes += [self._one(uow, agent_id, touched, claimed) for agent_id in rest]
            processed = uow.signals.mark_processed_if_complete(self.signal_id, deps.clock.now())
            uow.after_commit(partial(deps.write_cache, touched))
            uow.commit()
        return outcomes, processed

    def _wait(self, uow: UnitOfWork, agent_id: uuid.UUID, wait: entry.Wait | None,
              claimed: bool) -> Outcome:
        """Not this agent's turn: nothing recorded (a claim given back) and retried, or
        FAILED with the reason once the signal waited its longest (docs/rules.md §3)."""
        assert wait is not None
        if not self.waited:
            if claimed:
                uow.executions.release(self.signal_id, agent_id)
            return Outcome(agent_id, WAIT, "none", wait.reason)
        outcome = Outcome(agent_id, "FAILED", "none", entry.gave_up(wait))
        if not claimed and not uow.executions.claim_execution(self.signal_id, agent_id):
            return Outcome(agent_id, "duplicate", "none", "already_executed")
        complete(uow, self.signal_id, outcome, self.deps.clock.now())
        return outcome

    def _one(self, uow: UnitOfWork, agent_id: uuid.UUID, touched: Touched,
             claimed: bool) -> Outcome:
        mine = Touched()  # merged only if this agent's savepoint holds
        try:
            with uow.savepoint():
                outcome = self._decide_and_write(uow, agent_id, mine, claimed)
            touched.merge(mine)
            if outcome.submission_id is not None:  # sent only once the intent is committed
                uow.after_commit(partial(self.deps.queue.run_live, outcome.submission_id))
        except _NotYet as not_yet:  # the savepoint undid the claim made inside it
            outcome = self._wait(uow, agent_id, not_yet.wait, claimed)
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
        if outcome.status == WAIT:  # found under the lock (a swap begun since the look)
            raise _NotYet(entry.Wait(outcome.reason or entry.SWAP_IN_FLIGHT))
        complete(uow, self.signal_id, outcome, now)
        return outcome


class _NotYet(Exception):
    """Raised inside an agent's savepoint to undo its claim: not its turn yet."""

    def __init__(self, wait: entry.Wait) -> None:
        super().__init__(wait.reason)
        self.wait = wait


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
