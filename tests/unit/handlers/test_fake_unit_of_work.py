"""The fake unit of work keeps the real one's promises (persistence/unit_of_work.py), so a
handler test on the fakes sees what a rollback, a savepoint and the after-commit hooks do."""

from __future__ import annotations

import uuid
from decimal import Decimal as D

import pytest

from domain.agents import Agent
from domain.errors import InvalidInput
from domain.ledger import SOL_MINT
from domain.signals import Signal
from domain.wallets import Wallet
from tests.fakes import FakeUnitOfWork, Store, UniqueViolation
from tests.unit.domain.helpers import T0, USER_ID, position

TOKEN = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"
AGENT = Agent(id=uuid.UUID(int=7), user_id=USER_ID, name="seven")


def test_leaving_without_a_commit_restores_the_rows_and_drops_the_hooks() -> None:
    s, ran = Store({}, []), []
    with FakeUnitOfWork(s) as uow:
        uow.agents.add(AGENT)
        uow.wallets.add(Wallet("w7", AGENT.id, "simulation"))
        uow.balances.change(AGENT.id, "w7", SOL_MINT, D(5), T0)
        uow.after_commit(lambda: ran.append("hook"))
    assert (s.agents, s.wallets, s.balances, ran, s.commits) == ({}, [], {}, [], 0)


def test_a_commit_keeps_the_writes_then_runs_the_hooks_in_order() -> None:
    s, ran = Store({}, []), []
    with FakeUnitOfWork(s) as uow:
        uow.agents.add(AGENT)
        uow.after_commit(lambda: ran.append(len(s.agents)))
        uow.after_commit(lambda: ran.append(s.commits))
        assert ran == []
        uow.commit()
        uow.agents.rename(AGENT.id, "renamed")  # after the commit: a new transaction
    assert ran == [1, 1]
    assert s.agents[AGENT.id][0].name == "seven"


def test_an_error_in_a_savepoint_undoes_only_the_savepoint() -> None:
    s = Store({}, [])
    with FakeUnitOfWork(s) as uow:
        uow.signals.add(Signal(TOKEN, "buy", 50, idempotency_key="a"), T0)
        with pytest.raises(InvalidInput), uow.savepoint():
            uow.balances.change(AGENT.id, "w7", SOL_MINT, D(1), T0)
            uow.balances.change(AGENT.id, "w7", SOL_MINT, D(-2), T0)  # below zero: refused
        with uow.savepoint():
            uow.positions.add(position())
        uow.commit()
    assert s.balances == {} and len(s.signals) == 1 and len(s.positions) == 1


def test_unique_keys_and_guarded_updates_hold() -> None:
    s = Store({}, [])
    with FakeUnitOfWork(s) as uow:
        uow.positions.add(position())
        with pytest.raises(UniqueViolation):
            uow.positions.add(position(id=uuid.uuid4()))  # same agent, wallet and token
        assert uow.executions.claim_execution(1, AGENT.id)
        assert not uow.executions.claim_execution(1, AGENT.id)
        assert uow.bulk.claim_executions(1, [AGENT.id, uuid.UUID(int=8)]) == {uuid.UUID(int=8)}
        first = uow.signals.add(Signal(TOKEN, "buy", 50, idempotency_key="k"), T0)
        assert uow.signals.add(Signal(TOKEN, "sell", 60, idempotency_key="k"), T0) == (
            first[0], False)
        assert uow.signals.add(Signal(TOKEN, "buy", 50, idempotency_key="k"), T0,
                               namespace="stream")[1]
