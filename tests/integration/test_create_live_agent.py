"""Creating a live agent is one transaction on PostgreSQL: the agent, its simulation wallet,
its deposit and its live wallet commit together, or — a refusal or a failure at the live
wallet, the last step — nothing is left behind (no agent, wallet, ledger row or balance)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from solders.keypair import Keypair
from sqlalchemy import Engine, text

from domain.errors import InvalidInput
from domain.ports import UnitOfWork
from domain.wallets import Wallet
from persistence.db import make_session_factory
from persistence.repositories.agents import WalletRepository
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.fakes import FixedClock
from workers.handlers.operators.agents import NewAgent, create_agent

CLOCK = FixedClock(datetime(2026, 12, 1, tzinfo=UTC))
ADDRESS = str(Keypair().pubkey())
TABLES = ("agents", "agent_wallets", "agent_transactions", "agent_balances")


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


@pytest.fixture
def uow(clean_db: Engine) -> Callable[[], UnitOfWork]:
    factory = make_session_factory(clean_db)
    return lambda: SqlAlchemyUnitOfWork(factory)


def live(name: str) -> NewAgent:
    return NewAgent(name=name, mode="live", deposit_sol=Decimal(2), live_wallet=ADDRESS)


def test_the_agent_its_wallets_and_deposit_commit_together(
        uow: Callable[[], UnitOfWork], clean_db: Engine) -> None:
    agent_id = create_agent(uow(), CLOCK, live("live-one"), {ADDRESS})
    with clean_db.connect() as conn:
        wallets = conn.execute(text("SELECT wallet_type, wallet_address FROM agent_wallets "
                                    "WHERE agent_id = :a ORDER BY wallet_type"),
                               {"a": agent_id}).all()
    assert [w.wallet_type for w in wallets] == ["live", "simulation"]
    assert wallets[0].wallet_address == ADDRESS
    assert counts(clean_db) == {"agents": 1, "agent_wallets": 2, "agent_transactions": 1,
                                "agent_balances": 1}


def test_a_wallet_taken_in_the_meantime_leaves_nothing_behind(
        uow: Callable[[], UnitOfWork], clean_db: Engine) -> None:
    create_agent(uow(), CLOCK, live("live-one"), {ADDRESS})
    before = counts(clean_db)
    with pytest.raises(InvalidInput) as refused:
        create_agent(uow(), CLOCK, live("live-two"), {ADDRESS})
    assert refused.value.field == "wallet" and "already used by agent" in str(refused.value)
    assert counts(clean_db) == before
    with clean_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM agents WHERE name = 'live-two'")
                            ).scalar_one() == 0


def test_a_failure_writing_the_live_wallet_leaves_nothing_behind(
        uow: Callable[[], UnitOfWork], clean_db: Engine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    add = WalletRepository.add

    def fail_live(self: WalletRepository, wallet: Wallet) -> None:
        if wallet.wallet_type == "live":
            raise RuntimeError("the database went away")
        add(self, wallet)

    monkeypatch.setattr(WalletRepository, "add", fail_live)
    with pytest.raises(RuntimeError, match="went away"):
        create_agent(uow(), CLOCK, live("live-one"), {ADDRESS})
    assert counts(clean_db) == dict.fromkeys(TABLES, 0)


def test_an_unloaded_wallet_is_refused_before_anything_is_written(
        uow: Callable[[], UnitOfWork], clean_db: Engine) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_agent(uow(), CLOCK, live("live-one"), frozenset())
    assert refused.value.field == "wallet" and ADDRESS not in str(refused.value)
    with pytest.raises(InvalidInput, match="only a live agent"):
        create_agent(uow(), CLOCK, NewAgent(name="paper", live_wallet=ADDRESS), {ADDRESS})
    assert counts(clean_db) == dict.fromkeys(TABLES, 0)
