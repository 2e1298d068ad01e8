"""Trading signals and their per-agent executions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, aliased

from domain.channels import TASK
from domain.entry import Ahead
from domain.errors import NotFound
from domain.records import Execution, StoredSignal
from domain.signals import Signal
from domain.submissions import IN_FLIGHT
from persistence import models as m

# The placeholder a claimed execution carries until the same transaction completes it; it
# is never visible outside that transaction.
_CLAIM_REASON = "in_progress"
_SE = m.SignalExecution


def unapplied_before(signal_id: int | ColumnElement[int],
                     exit_types: Sequence[str] | None = None
                     ) -> Select[int, uuid.UUID | None, str, uuid.UUID | None]:
    """Signals for the same token received before ``signal_id`` (``received_at``, then id)
    that have not yet handed every agent they reach its execution (docs/rules.md §3 "Order
    per agent and token"): still pending (their fan-out has not decided whom they reach),
    or dispatched with fewer execution rows than eligible agents. A signal whose rows all
    exist (live ones maybe still PENDING) no longer holds others back: its own agents wait
    on their in-flight swap instead. ``exit_types`` given: entry signals only.
    Columns: id, user_id, status, agent_id."""
    cur, e = aliased(m.TradingSignal), aliased(m.TradingSignal)
    rows = (select(func.count()).select_from(_SE).where(_SE.signal_id == e.id)
            .correlate(e).scalar_subquery())
    stmt = (select(e.id, e.user_id, e.status, e.agent_id).join(cur, cur.id == signal_id)
            .where(e.token_address == cur.token_address,
                   tuple_(e.received_at, e.id) < tuple_(cur.received_at, cur.id),
                   or_(e.status == "pending",
                       and_(e.status == "dispatched", e.eligible_agents > rows))))
    if exit_types is not None:
        stmt = stmt.where(func.lower(e.signal_type).not_in(list(exit_types)))
    return stmt


def reaches_unapplied(agent: Any, earlier: Any) -> Any:
    """``agent`` (a column set with id, user_id) has one of the ``earlier`` signals (a
    subquery of ``unapplied_before``) still to come: a dispatched one it is a target of, or
    a pending one in its scope (its user's, or its one agent's for a manual buy: whom that
    reaches is not decided yet); and no execution of
    it yet. An agent the earlier signal's fan-out found ineligible does not wait for it."""
    tg = m.SignalTarget
    return exists().where(
        or_(and_(earlier.c.status == "pending",
                 or_(earlier.c.user_id.is_(None), earlier.c.user_id == agent.user_id),
                 or_(earlier.c.agent_id.is_(None), earlier.c.agent_id == agent.id)),
            exists().where(tg.signal_id == earlier.c.id, tg.agent_id == agent.id)
            .correlate_except(tg)),
        ~exists().where(_SE.signal_id == earlier.c.id, _SE.agent_id == agent.id)
        .correlate_except(_SE))


# The statements every execution runs, built once with bound parameters: building these
# select trees (aliases, correlated subqueries) cost more Python time per signal than their
# round trips (the profile in README "Performance"); compiled, SQLAlchemy caches them.
_SIGNAL_ID: BindParameter[int] = bindparam("signal_id")
_AGENT_IDS: BindParameter[list[uuid.UUID]] = bindparam("agent_ids", expanding=True)
_EXECUTED_OF = select(_SE.agent_id).where(_SE.signal_id == _SIGNAL_ID,
                                          _SE.agent_id.in_(_AGENT_IDS))
_EARLIER = unapplied_before(_SIGNAL_ID).subquery()
_ANY_EARLIER = select(exists().select_from(_EARLIER))
_BEHIND = select(m.Agent.id).where(m.Agent.id.in_(_AGENT_IDS),
                                   reaches_unapplied(m.Agent, _EARLIER))
_SWAPPING = (select(m.SwapSubmission.agent_id).distinct()
             .where(m.SwapSubmission.agent_id.in_(_AGENT_IDS),
                    m.SwapSubmission.status.in_(IN_FLIGHT)))
_PROCESSED = (
    update(m.TradingSignal)
    .where(m.TradingSignal.id == _SIGNAL_ID, m.TradingSignal.status == "dispatched",
           m.TradingSignal.eligible_agents <= select(func.count()).select_from(_SE)
           .where(_SE.signal_id == _SIGNAL_ID).scalar_subquery(),
           ~exists().where(_SE.signal_id == _SIGNAL_ID, _SE.status == "PENDING"))
    .values(status="processed", processed_at=bindparam("now"))
    .returning(m.TradingSignal.id)
    .execution_options(synchronize_session=False)
)
_DROP_TARGETS = (delete(m.SignalTarget).where(m.SignalTarget.signal_id == _SIGNAL_ID)
                 .execution_options(synchronize_session=False))


_SIGNAL_COLUMNS = (
    m.TradingSignal.id, m.TradingSignal.token_address, m.TradingSignal.signal_type,
    m.TradingSignal.signal_strength, m.TradingSignal.symbol, m.TradingSignal.activation_reason,
    m.TradingSignal.source, m.TradingSignal.idempotency_key, m.TradingSignal.user_id,
    m.TradingSignal.agent_id, m.TradingSignal.amount_sol,
    m.TradingSignal.status, m.TradingSignal.received_at,
)


def _stored(row: Any) -> StoredSignal:
    signal = Signal(
        token_address=row.token_address, signal_type=row.signal_type,
        signal_strength=row.signal_strength, symbol=row.symbol,
        activation_reason=row.activation_reason, source=row.source,
        idempotency_key=row.idempotency_key, user_id=row.user_id,
        agent_id=row.agent_id, amount_sol=row.amount_sol,
    )
    return StoredSignal(id=row.id, signal=signal, status=row.status, received_at=row.received_at)


_UNIQUE_KEY = [m.TradingSignal.idempotency_namespace, m.TradingSignal.idempotency_key]


def _row(signal: Signal, namespace: str) -> dict[str, Any]:
    return {"token_address": signal.token_address, "signal_type": signal.signal_type,
            "signal_strength": signal.signal_strength, "symbol": signal.symbol,
            "activation_reason": signal.activation_reason, "source": signal.source,
            "idempotency_key": signal.idempotency_key, "user_id": signal.user_id,
            "agent_id": signal.agent_id, "amount_sol": signal.amount_sol,
            "idempotency_namespace": namespace}


class SignalRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, signal: Signal, received_at: datetime, *,
            namespace: str = TASK) -> tuple[int, bool]:
        """Store a pending signal; returns (id, created). A key repeated within ``namespace``
        returns the existing signal's id and created=False; other namespaces are not seen."""
        stmt = pg_insert(m.TradingSignal).values(
            **_row(signal, namespace), status="pending", received_at=received_at)
        if signal.idempotency_key is not None:
            stmt = stmt.on_conflict_do_nothing(index_elements=_UNIQUE_KEY)
        new_id = self._s.execute(stmt.returning(m.TradingSignal.id)).scalar_one_or_none()
        if new_id is not None:
            return int(new_id), True
        existing = select(m.TradingSignal.id).where(
            m.TradingSignal.idempotency_namespace == namespace,
            m.TradingSignal.idempotency_key == signal.idempotency_key)
        return int(self._s.execute(existing).scalar_one()), False

    def add_many(self, signals: Sequence[Signal], received_at: datetime, *,
                 namespace: str = TASK) -> list[tuple[int, bool]]:
        """``add`` for a batch in two statements; every signal must carry an idempotency key
        (the ingestors key keyless messages by their delivery id)."""
        keys = [s.idempotency_key for s in signals]
        if not signals or None in keys:
            return [self.add(s, received_at, namespace=namespace) for s in signals]
        rows = [{**_row(s, namespace), "status": "pending", "received_at": received_at}
                for s in signals]
        stmt = (pg_insert(m.TradingSignal).values(rows)
                .on_conflict_do_nothing(index_elements=_UNIQUE_KEY)
                .returning(m.TradingSignal.idempotency_key, m.TradingSignal.id))
        created: dict[str | None, int] = {k: i for k, i in self._s.execute(stmt).all()}
        missing = [k for k in keys if k not in created]
        existing: dict[str | None, int] = {k: i for k, i in self._s.execute(
            select(m.TradingSignal.idempotency_key, m.TradingSignal.id)
            .where(m.TradingSignal.idempotency_namespace == namespace,
                   m.TradingSignal.idempotency_key.in_(missing))).all()} if missing else {}
        out: list[tuple[int, bool]] = []
        seen: set[str] = set()
        for key in keys:
            assert key is not None
            fresh = key in created and key not in seen
            out.append((int(created.get(key) or existing[key]), fresh))
            seen.add(key)
        return out

    def get(self, signal_id: int) -> StoredSignal:
        row = self._s.execute(
            select(*_SIGNAL_COLUMNS).where(m.TradingSignal.id == signal_id)).one_or_none()
        if row is None:
            raise NotFound("signal_id", f"no signal {signal_id}")
        return _stored(row)

    def recent(self, limit: int = 50) -> Sequence[StoredSignal]:
        stmt = select(*_SIGNAL_COLUMNS).order_by(m.TradingSignal.id.desc()).limit(limit)
        return [_stored(row) for row in self._s.execute(stmt)]

    def mark_dispatched(self, signal_id: int, eligible_agents: int, now: datetime,
                        targets: Sequence[uuid.UUID] = ()) -> None:
        """Record how many executions the signal expects (re-counted on every fan-out) and
        the agents this fan-out found eligible (``signal_targets``, docs/rules.md §3)."""
        self._s.execute(
            update(m.TradingSignal)
            .where(m.TradingSignal.id == signal_id,
                   m.TradingSignal.status.in_(("pending", "dispatched")))
            .values(status="dispatched", eligible_agents=eligible_agents, dispatched_at=now))
        if targets:
            self._s.execute(pg_insert(m.SignalTarget).on_conflict_do_nothing(),
                            [{"signal_id": signal_id, "agent_id": a} for a in set(targets)])

    def mark_processed_if_complete(self, signal_id: int, now: datetime) -> bool:
        """Processed once every eligible agent has its execution row and none is still
        PENDING (a live swap not yet confirmed, failed or expired: docs/rules.md §12)."""
        params = {"signal_id": signal_id, "now": now}
        if self._s.execute(_PROCESSED, params).scalar_one_or_none() is None:
            return False
        # Every target has its execution: the rows have served (bounded storage).
        self._s.execute(_DROP_TARGETS, params)
        return True

    def ahead_of(self, signal_id: int,
                 agent_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Ahead]:
        """What stands before each agent's turn at the signal (docs/rules.md §3, §12), for
        the agents without an execution of it that have something ahead: an earlier signal
        for the token not yet applied to them, or a live swap of theirs in flight."""
        ids = list(set(agent_ids))
        if not ids:
            return {}
        executed = set(self._s.execute(  # once: not per agent
            _EXECUTED_OF, {"signal_id": signal_id, "agent_ids": ids}).scalars())
        todo = [a for a in ids if a not in executed]
        if not todo:
            return {}
        behind: set[uuid.UUID] = set()
        if self._s.execute(_ANY_EARLIER, {"signal_id": signal_id}).scalar_one():
            behind = set(self._s.execute(
                _BEHIND, {"signal_id": signal_id, "agent_ids": todo}).scalars())
        swapping = set(self._s.execute(_SWAPPING, {"agent_ids": todo}).scalars())
        return {a: Ahead(a in behind, a in swapping) for a in todo
                if a in behind or a in swapping}

    def unfinished_before(self, now: datetime, grace: timedelta, limit: int = 500) -> list[int]:
        """Signals still pending, or dispatched, a grace period after their last fan-out (for
        the outbox sweeper). Counting from the last fan-out, not from receipt: under a
        backlog, re-fanning every signal still in flight on every run flooded the queue with
        duplicate chunks that then queued on each other's claims (a congestion collapse)."""
        last_fan_out = func.coalesce(m.TradingSignal.dispatched_at, m.TradingSignal.received_at)
        stmt = (
            select(m.TradingSignal.id)
            .where(m.TradingSignal.status.in_(("pending", "dispatched")),
                   last_fan_out < now - grace)
            .order_by(m.TradingSignal.id).limit(limit)
        )
        return [int(i) for i in self._s.execute(stmt).scalars()]


class ExecutionRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def claim_execution(self, signal_id: int, agent_id: uuid.UUID) -> bool:
        """Claim (signal, agent) for this transaction; False means another already did."""
        stmt = (
            pg_insert(m.SignalExecution)
            .values(signal_id=signal_id, agent_id=agent_id, status="FAILED", action="none",
                    reason=_CLAIM_REASON)
            .on_conflict_do_nothing(
                index_elements=[m.SignalExecution.signal_id, m.SignalExecution.agent_id])
            .returning(m.SignalExecution.id)
        )
        return self._s.execute(stmt).scalar_one_or_none() is not None

    def complete(self, signal_id: int, agent_id: uuid.UUID, *, status: str, action: str,
                 reason: str | None, transaction_id: uuid.UUID | None, now: datetime) -> None:
        self._s.execute(
            update(m.SignalExecution)
            .where(m.SignalExecution.signal_id == signal_id,
                   m.SignalExecution.agent_id == agent_id)
            .values(status=status, action=action, reason=reason,
                    transaction_id=transaction_id, executed_at=now))

    def release(self, signal_id: int, agent_id: uuid.UUID) -> None:
        """Give back a claim this transaction made and will not complete (the agent waits
        for its turn, docs/rules.md §3): the row is deleted only while still a claim."""
        self._s.execute(delete(_SE).where(_SE.signal_id == signal_id, _SE.agent_id == agent_id,
                                          _SE.reason == _CLAIM_REASON))

    def count_for_signal(self, signal_id: int) -> int:
        stmt = (select(func.count()).select_from(m.SignalExecution)
                .where(m.SignalExecution.signal_id == signal_id))
        return int(self._s.execute(stmt).scalar_one())

    def for_signal(self, signal_id: int) -> Sequence[Execution]:
        stmt = (select(m.SignalExecution.signal_id, m.SignalExecution.agent_id,
                       m.SignalExecution.status, m.SignalExecution.action,
                       m.SignalExecution.reason, m.SignalExecution.transaction_id,
                       m.SignalExecution.executed_at)
                .where(m.SignalExecution.signal_id == signal_id)
                .order_by(m.SignalExecution.executed_at))
        return [Execution(**row._asdict()) for row in self._s.execute(stmt)]
