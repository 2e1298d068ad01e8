"""Set-based reads and writes for a chunk of agents: a handful of statements per chunk
instead of a dozen per agent (the fan-out hot path, issue 9)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Table,
    bindparam,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from domain.agents import Agent
from domain.config import StoredConfig
from domain.errors import InvalidInput
from domain.ledger import Transaction
from domain.positions import Position
from domain.records import ExecutionResult
from domain.wallets import Wallet
from persistence import models as m
from persistence.repositories.agents import _AGENT_COLUMNS, CONFIG_TEXT, _agent, stored_config
from persistence.repositories.ledger import _tx_values
from persistence.repositories.positions import _POSITION_COLUMNS, _POSITION_FIELDS, _position


class BulkRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def claim_executions(self, signal_id: int, agent_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Claim (signal, agent) for every agent at once; returns the ones this call claimed."""
        if not agent_ids:
            return set()
        t = _table(m.SignalExecution)
        stmt = (pg_insert(t).on_conflict_do_nothing(index_elements=[t.c.signal_id, t.c.agent_id])
                .returning(t.c.agent_id))
        rows = [{"signal_id": signal_id, "agent_id": a, "status": "FAILED", "action": "none",
                 "reason": "in_progress"} for a in sorted(set(agent_ids))]
        return set(self._s.execute(stmt, rows).scalars())

    def complete_executions(self, signal_id: int, results: Sequence[ExecutionResult],
                            now: datetime) -> None:
        if not results:
            return
        t = m.SignalExecution.__table__
        assert isinstance(t, Table)
        stmt = update(t).where(t.c.signal_id == literal(signal_id),
                               t.c.agent_id == bindparam("b_agent")).values(
            status=bindparam("b_status"), action=bindparam("b_action"),
            reason=bindparam("b_reason"), transaction_id=bindparam("b_tx"), executed_at=now)
        self._s.execute(stmt, [{"b_agent": a, "b_status": s, "b_action": act, "b_reason": r,
                                "b_tx": tx} for a, s, act, r, tx in results])

    def lock_agents(self, agent_ids: Iterable[uuid.UUID],
                    ) -> dict[uuid.UUID, tuple[Agent, StoredConfig]]:
        stmt = (select(*_AGENT_COLUMNS, CONFIG_TEXT)
                .where(m.Agent.id.in_(sorted(agent_ids))).order_by(m.Agent.id)
                .with_for_update(key_share=True))  # NO KEY UPDATE: see lock_with_config
        return {row.id: (_agent(row), stored_config(row.config_text))
                for row in self._s.execute(stmt)}

    def wallets(self, agents: Iterable[Agent]) -> dict[uuid.UUID, Wallet]:
        """Each agent's wallet for its current trading mode."""
        modes = {a.id: a.trading_mode for a in agents}
        stmt = select(m.AgentWallet.wallet_address, m.AgentWallet.agent_id,
                      m.AgentWallet.wallet_type).where(m.AgentWallet.agent_id.in_(list(modes)))
        return {r.agent_id: Wallet(r.wallet_address, r.agent_id, r.wallet_type)
                for r in self._s.execute(stmt) if modes[r.agent_id] == r.wallet_type}

    def balances(self, wallets: Iterable[str], token: str) -> dict[str, Decimal]:
        """One token's balance per wallet, locked (a wallet without a row has 0)."""
        stmt = (select(m.AgentBalance.wallet_address, m.AgentBalance.balance)
                .where(m.AgentBalance.wallet_address.in_(sorted(wallets)),
                       m.AgentBalance.token_address == token)
                .order_by(m.AgentBalance.wallet_address).with_for_update())
        return {r.wallet_address: r.balance for r in self._s.execute(stmt)}

    def open_positions(self, agent_ids: Iterable[uuid.UUID], token: str,
                       ) -> dict[uuid.UUID, Position]:
        stmt = (select(*_POSITION_COLUMNS)
                .where(m.AgentPosition.agent_id.in_(sorted(agent_ids)),
                       m.AgentPosition.token_address == token).with_for_update())
        return {p.agent_id: p for p in map(_position, self._s.execute(stmt))}

    def open_counts(self, agent_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
        stmt = (select(m.AgentPosition.agent_id, func.count())
                .where(m.AgentPosition.agent_id.in_(sorted(agent_ids)))
                .group_by(m.AgentPosition.agent_id))
        return {a: int(n) for a, n in self._s.execute(stmt).all()}

    def add_transactions(self, txs: Sequence[Transaction]) -> None:
        if txs:
            self._s.execute(insert(_table(m.AgentTransaction)), [_tx_values(tx) for tx in txs])

    def add_positions(self, positions: Sequence[Position]) -> None:
        if positions:
            self._s.execute(insert(_table(m.AgentPosition)), [
                {n: getattr(p, n) for n in _POSITION_FIELDS} for p in positions])

    def apply_balances(self, txs: Sequence[Transaction], now: datetime,
                       ) -> dict[str, dict[str, Decimal]]:
        """Apply every row's balance changes: debits update (the CHECK balance >= 0 refuses
        an overdraft and fails the statement), credits upsert. Returns the new balances."""
        deltas: dict[tuple[uuid.UUID, str, str], Decimal] = defaultdict(Decimal)
        symbols: dict[tuple[str, str], str | None] = {}
        for tx in txs:
            for mint, change in tx.balance_changes().items():
                deltas[(tx.agent_id, tx.wallet_address, mint)] += change
                symbols[(tx.wallet_address, mint)] = (
                    tx.output_symbol if mint == tx.output_mint else tx.input_symbol)
        if not deltas:
            return {}
        t = _table(m.AgentBalance)
        ordered = sorted(deltas.items(), key=lambda kv: kv[0][1:])
        debits = [{"b_w": w, "b_t": tok, "b_d": d} for (_, w, tok), d in ordered if d < 0]
        if debits:
            self._s.execute(update(t).where(
                t.c.wallet_address == bindparam("b_w"), t.c.token_address == bindparam("b_t"),
            ).values(balance=t.c.balance + bindparam("b_d"), updated_at=now), debits)
        credits = [{"agent_id": a, "wallet_address": w, "token_address": tok, "balance": d,
                    "token_symbol": symbols[(w, tok)], "updated_at": now}
                   for (a, w, tok), d in ordered if d >= 0]
        if credits:
            base = pg_insert(t)
            self._s.execute(base.on_conflict_do_update(
                index_elements=[t.c.wallet_address, t.c.token_address],
                set_={"balance": t.c.balance + base.excluded.balance, "updated_at": now}),
                credits)
        return self._read(deltas)

    def _read(self, keys: Iterable[tuple[uuid.UUID, str, str]]) -> dict[str, dict[str, Decimal]]:
        wanted = {(w, tok) for _, w, tok in keys}
        t = _table(m.AgentBalance)
        stmt = select(t.c.wallet_address, t.c.token_address, t.c.balance).where(
            t.c.wallet_address.in_(sorted({w for w, _ in wanted})),
            t.c.token_address.in_(sorted({tok for _, tok in wanted})))
        new: dict[str, dict[str, Decimal]] = defaultdict(dict)
        for w, tok, balance in self._s.execute(stmt).all():
            if (w, tok) in wanted:
                new[w][tok] = balance
        missing = wanted - {(w, tok) for w, values in new.items() for tok in values}
        if missing:  # a debit of a balance row that does not exist
            raise InvalidInput("balance", f"{len(missing)} debited balances do not exist")
        return dict(new)


def _table(model: type[m.Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table
