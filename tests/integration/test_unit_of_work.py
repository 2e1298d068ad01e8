"""The unit of work: rollback by default, after-commit hooks after commit, row locks."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import Engine, text

from domain.errors import TransientError
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.integration.test_repositories import NOW, make_agent


def _count_users(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM users")).scalar_one())


def test_leaving_without_commit_rolls_back_and_drops_hooks(
        uow: SqlAlchemyUnitOfWork, clean_db: Engine) -> None:
    ran: list[str] = []
    with uow:
        uow.users.get_or_create("ghost@example.com")
        uow.after_commit(lambda: ran.append("hook"))
    assert _count_users(clean_db) == 0
    assert ran == []


def test_an_error_rolls_back(uow: SqlAlchemyUnitOfWork, clean_db: Engine) -> None:
    with pytest.raises(ZeroDivisionError), uow:
        uow.users.get_or_create("ghost@example.com")
        _ = 1 / 0
    assert _count_users(clean_db) == 0


def test_after_commit_hooks_run_in_order_after_the_data_is_visible(
        uow: SqlAlchemyUnitOfWork, clean_db: Engine) -> None:
    seen: list[tuple[str, int]] = []
    with uow:
        uow.users.get_or_create("a@example.com")
        uow.after_commit(lambda: seen.append(("first", _count_users(clean_db))))
        uow.after_commit(lambda: seen.append(("second", _count_users(clean_db))))
        assert seen == []
        uow.commit()
    assert seen == [("first", 1), ("second", 1)]


def test_a_failing_hook_does_not_undo_the_commit(
        uow: SqlAlchemyUnitOfWork, clean_db: Engine) -> None:
    ran: list[str] = []
    with uow:
        uow.users.get_or_create("a@example.com")
        uow.after_commit(lambda: 1 / 0)  # type: ignore[func-returns-value]
        uow.after_commit(lambda: ran.append("later"))
        uow.commit()
    assert _count_users(clean_db) == 1 and ran == ["later"]


def test_two_threads_locking_one_agent_serialise(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        agent, _ = make_agent(uow)
        uow.commit()
    order: list[str] = []
    first_has_lock = threading.Event()
    hold = 0.4

    def first() -> None:
        with SqlAlchemyUnitOfWork(uow._factory) as u:
            u.agents.get_for_update(agent.id)
            order.append("first locked")
            first_has_lock.set()
            time.sleep(hold)
            order.append("first commits")
            u.commit()

    def second(waited: list[float]) -> None:
        first_has_lock.wait(5)
        started = time.monotonic()
        with SqlAlchemyUnitOfWork(uow._factory) as u:
            u.agents.get_for_update(agent.id)
            waited.append(time.monotonic() - started)
            order.append("second locked")
            u.commit()

    waited: list[float] = []
    threads = [threading.Thread(target=first), threading.Thread(target=second, args=(waited,))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert order == ["first locked", "first commits", "second locked"]
    assert waited[0] >= hold * 0.75


def test_claim_from_two_sessions_only_one_wins(uow: SqlAlchemyUnitOfWork) -> None:
    from domain.signals import Signal
    from tests.integration.test_repositories import MINT

    with uow:
        agent, _ = make_agent(uow)
        signal_id, _ = uow.signals.add(Signal(MINT, "buy", 50, None, None, None, None, None), NOW)
        uow.commit()
    results: list[bool] = []
    with SqlAlchemyUnitOfWork(uow._factory) as a:
        results.append(a.executions.claim_execution(signal_id, agent.id))

        def other() -> None:
            with SqlAlchemyUnitOfWork(uow._factory) as b:
                results.append(b.executions.claim_execution(signal_id, agent.id))
                b.commit()

        thread = threading.Thread(target=other)
        thread.start()
        time.sleep(0.2)  # the other session now waits on our uncommitted claim
        a.executions.complete(signal_id, agent.id, status="EXECUTED", action="open",
                              reason=None, transaction_id=None, now=NOW)
        a.commit()
        thread.join(5)
    assert results == [True, False]


def test_lost_connection_surfaces_as_transient(uow: SqlAlchemyUnitOfWork) -> None:
    with pytest.raises(TransientError), uow:
        pid = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with SqlAlchemyUnitOfWork(uow._factory) as killer:
            killer.session.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        uow.session.execute(text("SELECT 1"))
    assert uuid.UUID  # the pool recovers: the next unit of work works
    with uow:
        assert uow.session.execute(text("SELECT 1")).scalar_one() == 1
