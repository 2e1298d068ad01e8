"""Consistent ledger data for the operator and read-side tests: agents funded by a DEPOSIT,
positions opened by a SWAP row, closes that write the sale, the history row and the balances
exactly as the trading path does, so the ledger and money invariants hold afterwards."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.agents import Agent
from domain.ledger import SOL_MINT, ClosedTrade, Transaction
from domain.money import price
from domain.positions import Position
from domain.wallets import Wallet, new_simulation_address
from persistence.unit_of_work import SqlAlchemyUnitOfWork

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
WIF = "EKpQGSJtjMFqKZ9KQanSqYXRcF8fBopzLHYxdM65zcjm"


def funded_agent(uow: SqlAlchemyUnitOfWork, name: str, sol: str, *,
                 email: str | None = None, at: datetime = T0) -> tuple[Agent, Wallet]:
    with uow:
        user_id = uow.users.get_or_create(email or f"{name}@example.com")
        agent = Agent(id=uuid.uuid4(), user_id=user_id, name=name)
        uow.agents.add(agent, None)
        wallet = Wallet(new_simulation_address(), agent.id, "simulation")
        uow.wallets.add(wallet)
        tx = Transaction(agent_id=agent.id, wallet_address=wallet.wallet_address,
                         transaction_type="DEPOSIT", transaction_time=at, output_mint=SOL_MINT,
                         output_symbol="SOL", output_amount=Decimal(sol))
        uow.transactions.add(tx)
        uow.balances.apply(agent.id, tx, at)
        uow.commit()
    return agent, wallet


def open_position(uow: SqlAlchemyUnitOfWork, agent: Agent, wallet: Wallet, token: str,
                  symbol: str, sol: str, tokens: str, *, at: datetime = T0,
                  stop: str | None = "-32") -> Position:
    spent, got = Decimal(sol), Decimal(tokens)
    with uow:
        tx = Transaction(agent_id=agent.id, wallet_address=wallet.wallet_address,
                         transaction_type="SWAP", transaction_time=at, input_mint=SOL_MINT,
                         input_symbol="SOL", input_amount=spent, output_mint=token,
                         output_symbol=symbol, output_amount=got,
                         output_price=price(spent / got))
        uow.transactions.add(tx)
        uow.balances.apply(agent.id, tx, at)
        position = Position(
            id=uuid.uuid4(), agent_id=agent.id, wallet_address=wallet.wallet_address,
            token_address=token, token_symbol=symbol, purchase_transaction_id=tx.id,
            purchase_price=price(spent / got), purchase_amount=got, total_invested_sol=spent,
            current_stop_loss_percentage=None if stop is None else Decimal(stop),
            peak_price=price(spent / got), created_at=at, updated_at=at)
        uow.positions.add(position)
        uow.commit()
    return position


def close_position(uow: SqlAlchemyUnitOfWork, position: Position, proceeds: str, reason: str,
                   *, at: datetime | None = None) -> ClosedTrade:
    """Sell the whole holding for ``proceeds`` SOL (no fees) and move it to history."""
    when = at or position.created_at + timedelta(hours=1)
    gross = Decimal(proceeds)
    with uow:
        sale = Transaction(agent_id=position.agent_id, wallet_address=position.wallet_address,
                           transaction_type="SWAP", transaction_time=when,
                           input_mint=position.token_address,
                           input_symbol=position.token_symbol,
                           input_amount=position.holding, output_mint=SOL_MINT,
                           output_symbol="SOL", output_amount=gross)
        uow.transactions.add(sale)
        uow.balances.apply(position.agent_id, sale, when)
        pnl = gross - position.total_invested_sol
        trade = ClosedTrade(
            agent_id=position.agent_id, wallet_address=position.wallet_address,
            token_address=position.token_address, token_symbol=position.token_symbol,
            amount=position.purchase_amount, purchase_price=position.purchase_price,
            sale_price=price(gross / position.holding),
            change_percent=(pnl / position.total_invested_sol * 100).quantize(Decimal("0.0001")),
            profit_loss_sol=pnl, profit_loss_usd=None, purchase_time=position.created_at,
            sale_time=when, purchase_transaction_id=position.purchase_transaction_id,
            sale_transaction_id=sale.id, signal_id=None, close_reason=reason)
        uow.history.add(trade)
        uow.positions.delete(position.id)
        uow.commit()
    return trade
