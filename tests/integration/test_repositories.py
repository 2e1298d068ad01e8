"""Repository round trips on real PostgreSQL: every value comes back exactly."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.agents import Agent
from domain.errors import InvalidInput, NotFound
from domain.ledger import SOL_MINT, ClosedTrade, Transaction, fold_balances
from domain.money import price
from domain.positions import Position
from domain.signals import Signal
from domain.wallets import Wallet, new_simulation_address
from persistence.unit_of_work import SqlAlchemyUnitOfWork

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
MINT = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"
BIG_TOKEN = Decimal("123456789012.123456789012345678")  # 12 integer digits, 18 decimals
BIG_SOL = Decimal("123456789012.12345678")  # NUMERIC(20,8) holds 12 integer digits


def make_agent(uow: SqlAlchemyUnitOfWork, name: str = "alpha") -> tuple[Agent, Wallet]:
    user_id = uow.users.get_or_create(f"{name}@example.com")
    agent = Agent(id=uuid.uuid4(), user_id=user_id, name=name, trading_mode="simulation",
                  automated_trading_simulation=True, automated_trading_live=True)
    uow.agents.add(agent, {"signals": {"minScore": 50}})
    wallet = Wallet(new_simulation_address(), agent.id, "simulation")
    uow.wallets.add(wallet)
    return agent, wallet


def buy_tx(agent: Agent, wallet: Wallet, sol: Decimal, tokens: Decimal) -> Transaction:
    return Transaction(
        agent_id=agent.id, wallet_address=wallet.wallet_address, transaction_type="SWAP",
        transaction_time=NOW, input_mint=SOL_MINT, input_symbol="SOL", input_amount=sol,
        output_mint=MINT, output_symbol="BONK", output_amount=tokens,
        output_price=price(sol / tokens), protocol_fee_sol=Decimal("0.00010000"),
        network_fee_sol=Decimal("0.00000500"), price_impact=Decimal("0.000123456789012345"),
        swap_payload={"route": "paper", "nested": {"amount": "1.5"}}, routes=[{"label": "x"}],
    )


def deposit_tx(agent: Agent, wallet: Wallet, sol: Decimal) -> Transaction:
    return Transaction(agent_id=agent.id, wallet_address=wallet.wallet_address,
                       transaction_type="DEPOSIT", transaction_time=NOW, output_mint=SOL_MINT,
                       output_symbol="SOL", output_amount=sol)


def test_agent_and_wallet_round_trip(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        agent, wallet = make_agent(uow)
        uow.commit()
    with uow:
        assert uow.agents.get(agent.id) == agent
        assert uow.agents.get_config(agent.id) == {"signals": {"minScore": 50}}
        assert uow.wallets.for_agent(agent.id, "simulation") == wallet
        assert uow.wallets.for_agent(agent.id, "live") is None
        assert uow.agents.all() == [agent]
        with pytest.raises(NotFound) as err:
            uow.agents.get(uuid.uuid4())
        assert err.value.field == "agent_id"


def test_balances_and_ledger_round_trip_exactly(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        agent, wallet = make_agent(uow)
        deposit = deposit_tx(agent, wallet, BIG_TOKEN)
        buy = buy_tx(agent, wallet, Decimal("1.5"), Decimal("1000000.123456789012345678"))
        for tx in (deposit, buy):
            uow.transactions.add(tx)
            uow.balances.apply(agent.id, tx, NOW)
        uow.commit()
    with uow:
        stored = uow.transactions.for_agent(agent.id)
        assert stored == [deposit, buy]
        balances = uow.balances.for_wallet(wallet.wallet_address)
        assert balances[MINT] == Decimal("1000000.123456789012345678")
        assert balances[SOL_MINT] == BIG_TOKEN - Decimal("1.5") - Decimal("0.000105")
        implied = fold_balances(stored)
        assert {mint: implied[(wallet.wallet_address, mint)] for mint in balances} == balances


def test_a_balance_never_goes_negative(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        agent, wallet = make_agent(uow)
        uow.balances.change(agent.id, wallet.wallet_address, SOL_MINT, Decimal("1"), NOW)
        uow.commit()
    with uow:
        with pytest.raises(InvalidInput) as err:
            uow.balances.change(agent.id, wallet.wallet_address, SOL_MINT, Decimal("-1.000000001"),
                                NOW)
        assert err.value.field == "balance"
    with uow:
        assert uow.balances.get(wallet.wallet_address, SOL_MINT) == Decimal("1")


def test_position_and_history_round_trip(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        agent, wallet = make_agent(uow)
        tx = buy_tx(agent, wallet, Decimal("2"), Decimal("1000"))
        uow.transactions.add(tx)
        position = Position(
            id=uuid.uuid4(), agent_id=agent.id, wallet_address=wallet.wallet_address,
            token_address=MINT, token_symbol="BONK", purchase_transaction_id=tx.id,
            purchase_price=Decimal("0.000000000000000001"), purchase_amount=BIG_TOKEN,
            remaining_amount=Decimal("999.999999999999999999"), total_invested_sol=BIG_SOL,
            current_stop_loss_percentage=Decimal("1010.1234"), peak_price=BIG_TOKEN,
            last_stop_loss_update=NOW, lowest_price=Decimal("0.5"), dca_count=2,
            last_dca_time=NOW, take_profit_levels_hit=1, tp_batch_start_level=1,
            total_take_profit_levels=5, moon_bag_activated=True,
            moon_bag_amount=Decimal("100.000000000000000001"),
            realized_profit_sol=Decimal("-0.12345678"), created_at=NOW, updated_at=NOW,
        )
        uow.positions.add(position)
        uow.commit()
    with uow:
        assert uow.positions.get(position.id) == position
        assert uow.positions.find_open(agent.id, wallet.wallet_address, MINT) == position
        assert uow.positions.count_open(agent.id, wallet.wallet_address) == 1
        moved = dataclasses.replace(position, dca_count=3, updated_at=NOW + timedelta(1))
        uow.positions.update(moved)
        assert uow.positions.get(moved.id) == moved
        trade = ClosedTrade(
            agent_id=agent.id, wallet_address=wallet.wallet_address, token_address=MINT,
            token_symbol="BONK", amount=BIG_TOKEN, purchase_price=Decimal("0.001"),
            sale_price=Decimal("0.002"), change_percent=Decimal("100.0000"),
            profit_loss_sol=Decimal("1.00000001"), profit_loss_usd=None, purchase_time=NOW,
            sale_time=NOW, purchase_transaction_id=tx.id, sale_transaction_id=tx.id,
            signal_id=None, close_reason="take_profit")
        uow.history.add(trade)
        uow.positions.delete(position.id)
        uow.commit()
    with uow:
        assert uow.positions.get(position.id) is None
        assert uow.history.for_agent(agent.id) == [trade]


def test_signal_idempotency_key_and_executions(uow: SqlAlchemyUnitOfWork) -> None:
    signal = Signal(token_address=MINT, signal_type="buy", signal_strength=80, symbol="BONK",
                    activation_reason="volume", source="tests", idempotency_key="k-1",
                    user_id=None)
    with uow:
        agent, _ = make_agent(uow)
        signal_id, created = uow.signals.add(signal, NOW)
        again, created_again = uow.signals.add(signal, NOW)
        uow.commit()
    assert created and not created_again and again == signal_id
    with uow:
        stored = uow.signals.get(signal_id)
        assert stored.signal == signal and stored.status == "pending"
        assert uow.executions.claim_execution(signal_id, agent.id) is True
        uow.executions.complete(signal_id, agent.id, status="SKIPPED", action="none",
                                reason="position_exists", transaction_id=None, now=NOW)
        uow.commit()
    with uow:
        assert uow.executions.claim_execution(signal_id, agent.id) is False
        [execution] = uow.executions.for_signal(signal_id)
        assert (execution.status, execution.reason) == ("SKIPPED", "position_exists")


def test_add_many_stores_a_batch_and_dedupes_keys(uow: SqlAlchemyUnitOfWork) -> None:
    def sig(key: str | None) -> Signal:
        return Signal(token_address=MINT, signal_type="buy", signal_strength=10,
                      idempotency_key=key)

    with uow:
        [(first, _)] = uow.signals.add_many([sig("a")], NOW)
        uow.commit()
    with uow:
        added = uow.signals.add_many([sig("b"), sig("a"), sig("c"), sig("b")], NOW)
        keyless = uow.signals.add_many([sig(None), sig(None)], NOW)
        uow.commit()
    assert [created for _, created in added] == [True, False, True, False]
    assert added[1][0] == first and added[0][0] == added[3][0]
    assert len({i for i, _ in added}) == 3
    assert all(created for _, created in keyless) and keyless[0][0] != keyless[1][0]
