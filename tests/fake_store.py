"""The rows of the fake database (``Store``) and the user, agent, wallet, balance and ledger
repositories of ``domain/ports.py`` over them (positions and closed trades:
tests/fake_positions.py). They keep the schema's rules a handler could trip over: unique keys
(``UniqueViolation``, as PostgreSQL's IntegrityError), a balance never below zero
(``InvalidInput("balance")``), ``NotFound`` for a missing row, updates of a missing row
changing nothing."""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from domain.agents import Agent, TradingMode, TradingState
from domain.bands import Band
from domain.config import StoredConfig
from domain.errors import InvalidInput, NotFound
from domain.ledger import ClosedTrade, Transaction
from domain.ports import PriceQuote
from domain.positions import Position
from domain.records import ConfigJson, Execution, StoredKey, StoredSnapshot
from domain.signals import Signal
from domain.submissions import SwapSubmission
from domain.wallets import Wallet


class UniqueViolation(Exception):
    """A row broke a unique key (PostgreSQL raises IntegrityError there)."""


@dataclasses.dataclass(frozen=True)
class SignalRow:
    id: int
    signal: Signal
    namespace: str
    status: str
    received_at: datetime
    eligible_agents: int | None = None
    dispatched_at: datetime | None = None
    processed_at: datetime | None = None


@dataclasses.dataclass(frozen=True)
class Bar:
    """A 1-minute price bar (``token_price_bars``)."""

    open_sol: Decimal
    high_sol: Decimal
    low_sol: Decimal
    close_sol: Decimal
    close_usd: Decimal | None
    samples: int


@dataclasses.dataclass
class Store:
    """The rows of the fake database. Containers only: the unit of work copies them to
    roll back (values are frozen, so a shallow copy is a snapshot)."""

    agents: dict[uuid.UUID, tuple[Agent, StoredConfig]]
    wallets: list[Wallet]
    positions: dict[uuid.UUID, Position] = dataclasses.field(default_factory=dict)
    # The stored quiet bands: position id -> (the position and stored config it was computed
    # from, the rules' basis, the band); valid only while all three still match.
    bands: dict[uuid.UUID, tuple[Position, StoredConfig, int, Band]] = dataclasses.field(
        default_factory=dict)
    balances: dict[tuple[str, str], Decimal] = dataclasses.field(default_factory=dict)
    transactions: list[Transaction] = dataclasses.field(default_factory=list)
    history: list[ClosedTrade] = dataclasses.field(default_factory=list)
    prices: list[PriceQuote] = dataclasses.field(default_factory=list)
    snapshots: list[StoredSnapshot] = dataclasses.field(default_factory=list)
    submissions: list[SwapSubmission] = dataclasses.field(default_factory=list)
    users: dict[uuid.UUID, str] = dataclasses.field(default_factory=dict)
    signals: dict[int, SignalRow] = dataclasses.field(default_factory=dict)
    executions: dict[tuple[int, uuid.UUID], Execution] = dataclasses.field(
        default_factory=dict)
    # (signal, agent) → True: a dict, not a set, so that a rollback restores it.
    targets: dict[tuple[int, uuid.UUID], bool] = dataclasses.field(default_factory=dict)
    bars: dict[tuple[str, datetime], Bar] = dataclasses.field(default_factory=dict)
    api_keys: dict[uuid.UUID, StoredKey] = dataclasses.field(default_factory=dict)
    commits: int = 0  # counters, not rows: a rollback keeps them (as a sequence does)
    last_signal_id: int = 0

    def copy_rows(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name).copy() for f in dataclasses.fields(self)
                if isinstance(getattr(self, f.name), dict | list)}

    def restore(self, saved: dict[str, object]) -> None:
        """Put the rows back in place (callers holding a container see the restored rows)."""
        for name, rows in saved.items():
            current = getattr(self, name)
            if isinstance(current, dict) and isinstance(rows, dict):
                current.clear()
                current.update(rows)
            elif isinstance(current, list) and isinstance(rows, list):
                current[:] = rows


def unapplied_before(store: Store, signal_id: int,
                     exit_types: Sequence[str] | None = None) -> list[SignalRow]:
    """As ``persistence/repositories/signals.py::unapplied_before``: signals for the token
    received earlier that have not handed out every execution yet."""
    cur = store.signals[signal_id]
    rows = Counter(s for s, _ in store.executions)
    return [r for r in store.signals.values()
            if r.signal.token_address == cur.signal.token_address
            and (r.received_at, r.id) < (cur.received_at, cur.id)
            and (r.status == "pending" or (r.status == "dispatched"
                                           and (r.eligible_agents or 0) > rows[r.id]))
            and (exit_types is None or r.signal.signal_type.lower() not in exit_types)]


def reaches_unapplied(store: Store, agent: Agent, earlier: Iterable[SignalRow]) -> bool:
    """A dispatched earlier signal the agent is a target of, or a pending one in its scope,
    with no execution for it yet."""
    return any(((r.id, agent.id) in store.targets if r.status == "dispatched"
                else (r.signal.user_id is None or r.signal.user_id == agent.user_id)
                and (r.signal.agent_id is None or r.signal.agent_id == agent.id))
               and (r.id, agent.id) not in store.executions for r in earlier)


class Repo:
    def __init__(self, store: Store) -> None:
        self.s = store


class FakeUsers(Repo):
    def get_or_create(self, email: str) -> uuid.UUID:
        found = self.find(email)
        if found is not None:
            return found
        user_id = uuid.uuid4()
        self.s.users[user_id] = email
        return user_id

    def find(self, email: str) -> uuid.UUID | None:
        return next((i for i, e in self.s.users.items() if e == email), None)

    def exists(self, user_id: uuid.UUID) -> bool:
        return user_id in self.s.users


def _mode(wallet_type: str) -> TradingMode:
    return "live" if wallet_type == "live" else "simulation"


class FakeAgents(Repo):
    def add(self, agent: Agent, trading_config: ConfigJson | None = None) -> None:
        if agent.id in self.s.agents:
            raise UniqueViolation(f"agent {agent.id}")
        self.s.agents[agent.id] = (agent, trading_config)

    def _row(self, agent_id: uuid.UUID) -> tuple[Agent, StoredConfig]:
        if agent_id not in self.s.agents:
            raise NotFound("agent_id", f"no agent {agent_id}")
        return self.s.agents[agent_id]

    def get(self, agent_id: uuid.UUID) -> Agent:
        return self._row(agent_id)[0]

    def get_for_update(self, agent_id: uuid.UUID) -> Agent:
        return self._row(agent_id)[0]

    def lock_with_config(self, agent_id: uuid.UUID) -> tuple[Agent, StoredConfig]:
        return self._row(agent_id)

    def candidates(self, *, user_id: uuid.UUID | None, holding_token: str | None = None,
                   not_executed_for: int | None = None, agent_id: uuid.UUID | None = None,
                   awaiting: tuple[int, Sequence[str]] | None = None,
                   ) -> list[tuple[Agent, StoredConfig]]:
        """As the SQL: not archived, automation on for its mode, the user's, holding the
        token (exits; or awaiting an earlier entry for it), the one agent of a manual buy,
        without an execution of the signal; ordered by id."""
        holders = {p.agent_id for p in self.s.positions.values()
                   if p.token_address == holding_token}
        if awaiting is not None:
            earlier = unapplied_before(self.s, awaiting[0], awaiting[1])
            holders |= {a.id for a, _ in self.s.agents.values()
                        if reaches_unapplied(self.s, a, earlier)}
        return [(a, c) for a, c in sorted(self.s.agents.values(), key=lambda r: r[0].id)
                if a.archived_at is None and a.automation_on
                and (user_id is None or a.user_id == user_id)
                and (agent_id is None or a.id == agent_id)
                and (holding_token is None or a.id in holders)
                and (not_executed_for is None
                     or (not_executed_for, a.id) not in self.s.executions)]

    def configs(self, agent_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, StoredConfig]:
        return {a: self.s.agents[a][1] for a in agent_ids if a in self.s.agents}

    def trading_states(self, agent_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, TradingState]:
        return {a: TradingState(*self.s.agents[a],
                                {w.wallet_address: _mode(w.wallet_type)
                                 for w in self.s.wallets if w.agent_id == a})
                for a in agent_ids if a in self.s.agents}

    def set_pause(self, agent_id: uuid.UUID, mode: TradingMode, *,
                  automation: bool | None = None, exits_paused: bool | None = None) -> None:
        if agent_id not in self.s.agents:
            return
        agent, config = self.s.agents[agent_id]
        live = mode == "live"
        if automation is not None:
            agent = (dataclasses.replace(agent, automated_trading_live=automation) if live else
                     dataclasses.replace(agent, automated_trading_simulation=automation))
        if exits_paused is not None:
            agent = (dataclasses.replace(agent, exits_paused_live=exits_paused) if live else
                     dataclasses.replace(agent, exits_paused_simulation=exits_paused))
        self.s.agents[agent_id] = (agent, config)

    def set_mode(self, agent_id: uuid.UUID, mode: TradingMode) -> None:
        if agent_id in self.s.agents:
            agent, config = self.s.agents[agent_id]
            self.s.agents[agent_id] = (dataclasses.replace(agent, trading_mode=mode), config)

    def get_config(self, agent_id: uuid.UUID) -> StoredConfig:
        row = self.s.agents.get(agent_id)
        return None if row is None else row[1]

    def set_config(self, agent_id: uuid.UUID, config: ConfigJson | None) -> None:
        if agent_id in self.s.agents:
            self.s.agents[agent_id] = (self.s.agents[agent_id][0], config)

    def all(self, user_id: uuid.UUID | None = None) -> list[Agent]:
        return [a for a, _ in self.s.agents.values() if user_id in (None, a.user_id)]

    def name_taken(self, user_id: uuid.UUID, name: str, *,
                   other_than: uuid.UUID | None = None) -> bool:
        return any(a.user_id == user_id and a.name == name and a.id != other_than
                   for a, _ in self.s.agents.values())

    def rename(self, agent_id: uuid.UUID, name: str) -> None:
        if agent_id in self.s.agents:
            agent, config = self.s.agents[agent_id]
            self.s.agents[agent_id] = (dataclasses.replace(agent, name=name), config)

    def archive(self, agent_id: uuid.UUID, now: datetime) -> None:
        if agent_id in self.s.agents:
            agent, config = self.s.agents[agent_id]
            self.s.agents[agent_id] = (dataclasses.replace(agent, archived_at=now), config)


class FakeWallets(Repo):
    def add(self, wallet: Wallet) -> None:
        if any(w.wallet_address == wallet.wallet_address
               or (w.agent_id, w.wallet_type) == (wallet.agent_id, wallet.wallet_type)
               for w in self.s.wallets):
            raise UniqueViolation(f"wallet {wallet.wallet_address}")
        self.s.wallets.append(wallet)

    def for_agent(self, agent_id: uuid.UUID, wallet_type: str) -> Wallet | None:
        return next((w for w in self.s.wallets
                     if w.agent_id == agent_id and w.wallet_type == wallet_type), None)


class FakeBalances(Repo):
    def get(self, wallet_address: str, token_address: str, *,
            for_update: bool = False) -> Decimal:
        return self.s.balances.get((wallet_address, token_address), Decimal(0))

    def apply(self, agent_id: uuid.UUID, tx: Transaction, now: datetime) -> dict[str, Decimal]:
        return {mint: self.change(agent_id, tx.wallet_address, mint, change, now)
                for mint, change in sorted(tx.balance_changes().items())}

    def change(self, agent_id: uuid.UUID, wallet_address: str, token_address: str,
               delta: Decimal, now: datetime, token_symbol: str | None = None) -> Decimal:
        key = (wallet_address, token_address)
        new = self.s.balances.get(key, Decimal(0)) + delta
        if new < 0:
            raise InvalidInput("balance", f"{token_address} balance cannot go below zero")
        self.s.balances[key] = new
        return new

    def for_wallet(self, wallet_address: str) -> dict[str, Decimal]:
        return {t: b for (w, t), b in self.s.balances.items() if w == wallet_address}


class FakeTransactions(Repo):
    def add(self, tx: Transaction) -> uuid.UUID:
        if any(t.id == tx.id or (tx.transaction_hash is not None
                                 and t.transaction_hash == tx.transaction_hash)
               for t in self.s.transactions):
            raise UniqueViolation(f"transaction {tx.id}")
        self.s.transactions.append(tx)
        return tx.id

    def sale_proceeds(self, wallet_address: str, token_address: str,
                      since: datetime) -> Decimal:
        """Net SOL of the token's sales since ``since``, less those that closed earlier
        positions (as the SQL)."""
        earlier = {h.sale_transaction_id for h in self.s.history
                   if (h.wallet_address, h.token_address) == (wallet_address, token_address)}
        return sum(((t.output_amount or Decimal(0)) - t.fees_sol for t in self.s.transactions
                    if t.wallet_address == wallet_address and t.input_mint == token_address
                    and t.transaction_type == "SWAP" and t.transaction_time >= since
                    and t.id not in earlier), Decimal(0))

    def for_agent(self, agent_id: uuid.UUID) -> list[Transaction]:
        return sorted((t for t in self.s.transactions if t.agent_id == agent_id),
                      key=lambda t: t.transaction_time)
