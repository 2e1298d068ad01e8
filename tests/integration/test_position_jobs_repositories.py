"""The repositories of the beat jobs on real PostgreSQL: price history, the batched and
monotonic stop-loss update, and the hourly snapshot upsert."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from domain.performance import Snapshot
from domain.ports import PriceQuote
from domain.positions import open_position
from persistence import models as m
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.integration.test_repositories import MINT, NOW, buy_tx, deposit_tx, make_agent

OTHER = "So11111111111111111111111111111111111111112"


@pytest.fixture
def puow(clean_db: Engine) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(make_session_factory(clean_db))


def _position(puow: SqlAlchemyUnitOfWork, token: str = MINT) -> uuid.UUID:
    agent, wallet = make_agent(puow, f"agent-{uuid.uuid4().hex[:6]}")
    purchase = puow.transactions.add(buy_tx(agent, wallet, Decimal(1), Decimal(1000)))
    position = open_position(
        id=uuid.uuid4(), agent_id=agent.id, wallet_address=wallet.wallet_address,
        token_address=token, token_symbol=None, purchase_transaction_id=purchase,
        sol_swapped=Decimal(1), tokens_received=Decimal(1000), fees_sol=Decimal(0),
        stop_loss_percentage=Decimal(-32), now=NOW)
    puow.positions.add(position)
    return position.id


def test_price_history_is_one_batch_of_rows(puow: SqlAlchemyUnitOfWork) -> None:
    quotes = [PriceQuote(MINT, Decimal("0.0012345"), NOW, "static", Decimal("0.18")),
              PriceQuote(OTHER, Decimal(1), NOW + timedelta(seconds=1), "jupiter")]
    with puow:
        assert puow.prices.add_many(quotes) == 2
        assert puow.prices.add_many([]) == 0
        puow.commit()
    with puow:
        rows = puow.session.execute(select(m.TokenPrice).order_by(m.TokenPrice.id)).scalars()
        assert [(r.token_address, r.price_sol, r.price_usd, r.source) for r in rows] == [
            (MINT, Decimal("0.0012345"), Decimal("0.18"), "static"), (OTHER, 1, None, "jupiter")]


def test_stop_updates_are_batched_and_never_loosen(puow: SqlAlchemyUnitOfWork) -> None:
    with puow:
        first, second = _position(puow), _position(puow, OTHER)
        puow.commit()
    later = NOW + timedelta(minutes=1)
    with puow:
        assert puow.positions.open_tokens() == sorted([MINT, OTHER])
        puow.positions.update_stops([(first, Decimal("0.0015"), Decimal(40)),
                                     (second, Decimal("0.002"), Decimal("12.5"))], later)
        puow.positions.update_stops([(first, Decimal("0.0012"), Decimal(10))], later)  # older
        puow.positions.update_stops([(uuid.uuid4(), Decimal(1), Decimal(1))], later)  # gone
        puow.commit()
    with puow:
        a, b = puow.positions.get(first), puow.positions.get(second)
    assert (a.peak_price, a.current_stop_loss_percentage) == (Decimal("0.0015"), Decimal(40))
    assert (b.peak_price, b.current_stop_loss_percentage) == (Decimal("0.002"), Decimal("12.5"))
    assert a.last_stop_loss_update == later


def test_a_snapshot_is_upserted_per_wallet_and_hour(puow: SqlAlchemyUnitOfWork) -> None:
    with puow:
        agent, wallet = make_agent(puow)
        puow.transactions.add(deposit_tx(agent, wallet, Decimal(5)))
        puow.balances.apply(agent.id, deposit_tx(agent, wallet, Decimal(5)), NOW)
        idle, idle_wallet = make_agent(puow, "idle")
        puow.commit()
    hour = datetime(2026, 11, 22, 12, tzinfo=UTC)
    first = Snapshot(Decimal(5), Decimal(1), Decimal("0.1"), Decimal(6))
    second = Snapshot(Decimal(5), Decimal(2), Decimal("1.1"), Decimal(7))
    with puow:
        cash = {w.wallet_address: w.sol_balance for w in puow.snapshots.wallets()}
        assert cash == {wallet.wallet_address: Decimal(5), idle_wallet.wallet_address: 0}
        puow.snapshots.upsert_many(hour, [(agent.id, wallet.wallet_address, first)])
        puow.snapshots.upsert_many(hour, [(agent.id, wallet.wallet_address, second),
                                          (idle.id, idle_wallet.wallet_address, first)])
        puow.commit()
    with puow:
        stored = puow.snapshots.for_agent(agent.id)
        total = puow.session.execute(
            select(func.count()).select_from(m.AgentBalanceSnapshot)).scalar_one()
    assert total == 2
    assert [(s.snapshot_timestamp, s.snapshot) for s in stored] == [(hour, second)]
