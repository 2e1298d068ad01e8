"""The ledger (agent_transactions) and the balances it implies."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from domain.errors import InvalidInput
from domain.ledger import Transaction
from persistence import models as m

_TX_FIELDS = tuple(f.name for f in fields(Transaction))


def _tx_values(tx: Transaction) -> dict[str, Any]:
    values = {name: getattr(tx, name) for name in _TX_FIELDS}
    values["swap_payload"] = dict(tx.swap_payload) if tx.swap_payload is not None else None
    values["routes"] = [dict(r) for r in tx.routes] if tx.routes is not None else None
    return values


class TransactionRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, tx: Transaction) -> uuid.UUID:
        self._s.execute(insert(m.AgentTransaction).values(**_tx_values(tx)))
        return tx.id

    def sale_proceeds(self, wallet_address: str, token_address: str, since: datetime) -> Decimal:
        """Σ net SOL received (gross − fees) for selling the token since ``since``, leaving
        out the sales that closed earlier positions: a buy stamped before it waited for the
        agent's lock can open a position "earlier" than the close it waited behind."""
        tx, closed = m.AgentTransaction, m.AgentHistoricalSwap
        earlier_closes = select(closed.sale_transaction_id).where(
            closed.wallet_address == wallet_address, closed.token_address == token_address)
        stmt = select(func.coalesce(func.sum(
            tx.output_amount - tx.protocol_fee_sol - tx.network_fee_sol), 0)).where(
            tx.wallet_address == wallet_address, tx.input_mint == token_address,
            tx.transaction_type == "SWAP", tx.transaction_time >= since,
            tx.id.not_in(earlier_closes))
        total: Decimal | None = self._s.execute(stmt).scalar_one()
        return total if total is not None else Decimal(0)

    def for_agent(self, agent_id: uuid.UUID) -> Sequence[Transaction]:
        columns = [getattr(m.AgentTransaction, name) for name in _TX_FIELDS]
        stmt = (select(*columns).where(m.AgentTransaction.agent_id == agent_id)
                .order_by(m.AgentTransaction.transaction_time, m.AgentTransaction.created_at))
        return [Transaction(**row._asdict()) for row in self._s.execute(stmt)]


class BalanceRepository:
    """Balances change only together with the ledger row that explains the change."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, wallet_address: str, token_address: str, *, for_update: bool = False) -> Decimal:
        stmt = select(m.AgentBalance.balance).where(
            m.AgentBalance.wallet_address == wallet_address,
            m.AgentBalance.token_address == token_address,
        )
        if for_update:
            stmt = stmt.with_for_update()
        value = self._s.execute(stmt).scalar_one_or_none()
        return value if value is not None else Decimal(0)

    def apply(self, agent_id: uuid.UUID, tx: Transaction, now: datetime) -> dict[str, Decimal]:
        """Apply a ledger row's changes (a balance that would go negative is refused);
        returns the new balance of every mint it touched."""
        new: dict[str, Decimal] = {}
        for mint, change in sorted(tx.balance_changes().items()):
            symbol = tx.output_symbol if mint == tx.output_mint else tx.input_symbol
            new[mint] = self.change(agent_id, tx.wallet_address, mint, change, now, symbol)
        return new

    def change(self, agent_id: uuid.UUID, wallet_address: str, token_address: str,
               delta: Decimal, now: datetime, token_symbol: str | None = None) -> Decimal:
        stmt = (
            update(m.AgentBalance)
            .where(m.AgentBalance.wallet_address == wallet_address,
                   m.AgentBalance.token_address == token_address,
                   m.AgentBalance.balance + delta >= 0)
            .values(balance=m.AgentBalance.balance + delta, updated_at=now)
            .returning(m.AgentBalance.balance)
        )
        new = self._s.execute(stmt).scalar_one_or_none()
        if new is not None:
            return new
        if delta < 0:
            raise InvalidInput("balance", f"{token_address} balance cannot go below zero")
        insert_stmt = pg_insert(m.AgentBalance).values(
            agent_id=agent_id, wallet_address=wallet_address, token_address=token_address,
            token_symbol=token_symbol, balance=delta, updated_at=now,
        ).on_conflict_do_update(
            index_elements=[m.AgentBalance.wallet_address, m.AgentBalance.token_address],
            set_={"balance": m.AgentBalance.balance + delta, "updated_at": now},
        ).returning(m.AgentBalance.balance)
        return self._s.execute(insert_stmt).scalar_one()

    def for_wallet(self, wallet_address: str) -> dict[str, Decimal]:
        stmt = select(m.AgentBalance.token_address, m.AgentBalance.balance).where(
            m.AgentBalance.wallet_address == wallet_address)
        return {row.token_address: row.balance for row in self._s.execute(stmt)}
