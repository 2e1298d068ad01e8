"""Hourly balance snapshots (``agent_balance_snapshots``), one row per wallet and UTC hour."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from domain.ledger import SOL_MINT
from domain.performance import Snapshot
from domain.records import StoredSnapshot, WalletCash
from persistence import models as m


class SnapshotRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def wallets(self) -> list[WalletCash]:
        """Every agent wallet with its SOL balance, in one query."""
        w, b = m.AgentWallet, m.AgentBalance
        stmt = (select(w.agent_id, w.wallet_address, b.balance)
                .outerjoin(b, and_(b.wallet_address == w.wallet_address,
                                   b.token_address == SOL_MINT))
                .order_by(w.agent_id, w.wallet_address))
        return [WalletCash(row.agent_id, row.wallet_address,
                           row.balance if row.balance is not None else Decimal(0))
                for row in self._s.execute(stmt)]

    def upsert_many(self, hour: datetime,
                    rows: Sequence[tuple[uuid.UUID, str, Snapshot]]) -> int:
        """One row per (agent, wallet, hour): insert, or overwrite the figures of that hour."""
        if not rows:
            return 0
        values = [{"agent_id": agent_id, "wallet_address": wallet, "snapshot_timestamp": hour,
                   "sol_balance": s.sol_balance, "positions_value_sol": s.positions_value_sol,
                   "unrealized_pnl_sol": s.unrealized_pnl_sol,
                   "portfolio_balance_sol": s.portfolio_balance_sol}
                  for agent_id, wallet, s in rows]
        stmt = pg_insert(m.AgentBalanceSnapshot).values(values)
        figures = ("sol_balance", "positions_value_sol", "unrealized_pnl_sol",
                   "portfolio_balance_sol")
        stmt = stmt.on_conflict_do_update(
            index_elements=["agent_id", "wallet_address", "snapshot_timestamp"],
            set_={name: stmt.excluded[name] for name in figures})
        self._s.execute(stmt)
        return len(values)

    def for_agent(self, agent_id: uuid.UUID,
                  since: datetime | None = None) -> list[StoredSnapshot]:
        """An agent's snapshots in time order (max drawdown reads the portfolio values)."""
        t = m.AgentBalanceSnapshot
        stmt = select(t).where(t.agent_id == agent_id).order_by(t.snapshot_timestamp)
        if since is not None:
            stmt = stmt.where(t.snapshot_timestamp >= since)
        return [StoredSnapshot(r.agent_id, r.wallet_address, r.snapshot_timestamp, Snapshot(
            r.sol_balance, r.positions_value_sol, r.unrealized_pnl_sol, r.portfolio_balance_sol))
            for r in self._s.execute(stmt).scalars()]
