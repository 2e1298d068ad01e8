"""The wallet sync's storage on real PostgreSQL (docs/rules.md §12): the rows it writes (the
``ADJUSTMENT`` type, the ``adjustment`` kind, a position's ``tokens_left``) round-trip and read
back with their ledger reason; the schema refuses an unknown kind; ``busy_since`` sees a swap in
flight and one that changed within the settle window, as the fakes do."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from domain.submissions import CONFIRMED, SwapSubmission
from domain.wallet_sync import ChainBalances, reconcile
from persistence import listings
from persistence.db import make_session_factory
from persistence.read_connection import of_session
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.integration.ledger_support import BONK, T0, funded_agent, open_position
from tests.invariants import assert_ledger_invariant, assert_money_conserved
from workers.handlers.shared import trades
from workers.handlers.shared.trades import Touched


def _uow(engine: Engine) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(make_session_factory(engine))


def test_adjustments_and_a_flagged_position_round_trip_with_their_reasons(
        clean_db: Engine) -> None:
    agent, wallet = funded_agent(_uow(clean_db), "synced", "10")
    opened = open_position(_uow(clean_db), agent, wallet, BONK, "BONK", "1", "1000")
    chain = ChainBalances(wallet.wallet_address, 5, Decimal("8.5"), {BONK: Decimal(250)})
    now = T0 + timedelta(hours=1)
    with _uow(clean_db) as uow:
        found = reconcile(wallet, uow.balances.for_wallet(wallet.wallet_address), chain,
                          uow.positions.list_open(agent.id), now)
        for adjustment in found.adjustments:
            trades.record(uow, adjustment.transaction, now, Touched())
        [flagged] = found.positions
        uow.positions.update(flagged)
        uow.commit()
    with _uow(clean_db) as uow:
        [position] = uow.positions.list_open(agent.id)
        rows = uow.transactions.for_agent(agent.id)
        assert uow.balances.for_wallet(wallet.wallet_address) == {
            "So11111111111111111111111111111111111111112": Decimal("8.5"), BONK: Decimal(250)}
    assert position == dataclasses.replace(flagged, updated_at=position.updated_at)
    assert (position.id, position.tokens_left, position.holding) == (
        opened.id, Decimal(750), Decimal(250))
    assert [(t.transaction_type, t.adjustment) for t in rows[2:]] == [
        ("WITHDRAWAL", "withdrawal"), ("ADJUSTMENT", "unexplained")]
    assert_ledger_invariant(clean_db)
    assert_money_conserved(clean_db)
    with make_session_factory(clean_db)() as session:
        page = listings.transactions(of_session(session), listings.LedgerFilter(agent_id=agent.id))
        assert sorted(r["reason"] for r in page.rows) == [
            "buy", "deposit", "sync_withdrawal", "unexplained"]
        only = listings.transactions(of_session(session),
                                     listings.LedgerFilter(reason="unexplained"))
        assert [r["transaction_type"] for r in only.rows] == ["ADJUSTMENT"]


def test_the_schema_refuses_an_adjustment_kind_it_does_not_know(clean_db: Engine) -> None:
    agent, _ = funded_agent(_uow(clean_db), "kinds", "1")
    with _uow(clean_db) as uow:
        [deposit] = uow.transactions.for_agent(agent.id)
        with pytest.raises(IntegrityError, match="adjustment_kind"):
            uow.transactions.add(dataclasses.replace(deposit, id=uuid.uuid4(),
                                                     adjustment="gift"))
            uow.commit()


def test_busy_since_sees_a_swap_in_flight_and_one_that_just_changed(clean_db: Engine) -> None:
    agent, wallet = funded_agent(_uow(clean_db), "busy", "1")
    swap = SwapSubmission(agent_id=agent.id, wallet_address=wallet.wallet_address, kind="open",
                          token_address=BONK, amount_in=Decimal(1))
    with _uow(clean_db) as uow:
        assert not uow.submissions.busy_since(agent.id, T0)
        uow.submissions.add(swap, T0)
        uow.commit()
    with _uow(clean_db) as uow:
        assert uow.submissions.busy_since(agent.id, T0 + timedelta(days=1))  # in flight
        uow.submissions.transition(swap.id, "intent", CONFIRMED, T0)
        uow.commit()
    with _uow(clean_db) as uow:
        assert uow.submissions.busy_since(agent.id, T0)
        assert not uow.submissions.busy_since(agent.id, T0 + timedelta(microseconds=1))
