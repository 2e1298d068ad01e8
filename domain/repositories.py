"""The repositories and the unit of work, as Protocols (docs/architecture.md): what the use
cases may ask of storage. ``persistence/`` implements them (``persistence/unit_of_work.py::as_port``
makes mypy check it) and ``tests/fake_repositories.py`` implements them in memory.
``domain/ports.py`` re-exports every name here beside the other ports."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Protocol, Self

from domain.agents import Agent, TradingMode, TradingState
from domain.bands import BandWrite, Candidate
from domain.channels import TASK
from domain.config import StoredConfig
from domain.entry import Ahead
from domain.ledger import ClosedTrade, Transaction
from domain.performance import Snapshot
from domain.positions import Position
from domain.records import (
    ConfigJson,
    Execution,
    ExecutionResult,
    PriceQuote,
    StopChange,
    StoredKey,
    StoredSignal,
    StoredSnapshot,
    WalletCash,
)
from domain.signals import Signal
from domain.submissions import SwapSubmission
from domain.wallets import Wallet


class Users(Protocol):
    def get_or_create(self, email: str) -> uuid.UUID: ...

    def find(self, email: str) -> uuid.UUID | None: ...

    def exists(self, user_id: uuid.UUID) -> bool: ...


class Agents(Protocol):
    def add(self, agent: Agent, trading_config: ConfigJson | None = None) -> None: ...

    def get(self, agent_id: uuid.UUID) -> Agent: ...

    def get_for_update(self, agent_id: uuid.UUID) -> Agent: ...

    def lock_with_config(self, agent_id: uuid.UUID) -> tuple[Agent, StoredConfig]: ...

    def candidates(self, *, user_id: uuid.UUID | None, holding_token: str | None = None,
                   not_executed_for: int | None = None, agent_id: uuid.UUID | None = None,
                   awaiting: tuple[int, Sequence[str]] | None = None,
                   ) -> Sequence[tuple[Agent, StoredConfig]]: ...

    def configs(self, agent_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, StoredConfig]: ...

    def trading_states(self, agent_ids: Iterable[uuid.UUID]
                       ) -> dict[uuid.UUID, TradingState]: ...

    def set_pause(self, agent_id: uuid.UUID, mode: TradingMode, *,
                  automation: bool | None = None, exits_paused: bool | None = None
                  ) -> None: ...

    def set_mode(self, agent_id: uuid.UUID, mode: TradingMode) -> None: ...

    def get_config(self, agent_id: uuid.UUID) -> StoredConfig: ...

    def set_config(self, agent_id: uuid.UUID, config: ConfigJson | None) -> None: ...

    def all(self, user_id: uuid.UUID | None = None) -> Sequence[Agent]: ...

    def name_taken(self, user_id: uuid.UUID, name: str, *,
                   other_than: uuid.UUID | None = None) -> bool: ...

    def rename(self, agent_id: uuid.UUID, name: str) -> None: ...

    def archive(self, agent_id: uuid.UUID, now: datetime) -> None: ...


class Wallets(Protocol):
    def add(self, wallet: Wallet) -> None: ...

    def for_agent(self, agent_id: uuid.UUID, wallet_type: str) -> Wallet | None: ...


class Balances(Protocol):
    def get(self, wallet_address: str, token_address: str, *,
            for_update: bool = False) -> Decimal: ...

    def apply(self, agent_id: uuid.UUID, tx: Transaction, now: datetime) -> dict[str, Decimal]: ...

    def change(self, agent_id: uuid.UUID, wallet_address: str, token_address: str,
               delta: Decimal, now: datetime, token_symbol: str | None = None) -> Decimal: ...

    def for_wallet(self, wallet_address: str) -> dict[str, Decimal]: ...


class Transactions(Protocol):
    def add(self, tx: Transaction) -> uuid.UUID: ...

    def sale_proceeds(self, wallet_address: str, token_address: str,
                      since: datetime) -> Decimal: ...

    def for_agent(self, agent_id: uuid.UUID) -> Sequence[Transaction]: ...


class Positions(Protocol):
    def add(self, position: Position) -> None: ...

    def update(self, position: Position) -> None: ...

    def delete(self, position_id: uuid.UUID) -> None: ...

    def get(self, position_id: uuid.UUID, *, for_update: bool = False) -> Position | None: ...

    def find_open(self, agent_id: uuid.UUID, wallet_address: str, token_address: str, *,
                  for_update: bool = False) -> Position | None: ...

    def count_open(self, agent_id: uuid.UUID, wallet_address: str) -> int: ...

    def list_open(self, agent_id: uuid.UUID | None = None,
                  token_addresses: Iterable[str] | None = None) -> Sequence[Position]: ...

    def open_tokens(self) -> list[str]: ...

    def update_stops(self, changes: Sequence[StopChange], now: datetime) -> None: ...

    def sweep_candidates(self, prices: Mapping[str, Decimal], now: datetime,
                         basis: int) -> Sequence[Candidate]:
        """The open positions of these tokens a sweep at these prices must evaluate: every
        one without a band valid for its current row and ``basis``, or whose band the
        token's price or ``now`` leaves (oldest first)."""
        ...

    def save_sweep(self, stops: Sequence[StopChange], bands: Sequence[BandWrite],
                   now: datetime, basis: int) -> None:
        """One batch: the stop changes (monotonic, as ``update_stops``), each with its band
        when ``bands`` has one for it, and the bands of positions held without a change;
        a band is stored only where the row is still at the version it was computed from."""
        ...


class History(Protocol):
    def add(self, trade: ClosedTrade) -> None: ...

    def for_agent(self, agent_id: uuid.UUID) -> Sequence[ClosedTrade]: ...


class Signals(Protocol):
    def add(self, signal: Signal, received_at: datetime, *,
            namespace: str = TASK) -> tuple[int, bool]: ...

    def add_many(self, signals: Sequence[Signal], received_at: datetime, *,
                 namespace: str = TASK) -> list[tuple[int, bool]]: ...

    def get(self, signal_id: int) -> StoredSignal: ...

    def recent(self, limit: int = 50) -> Sequence[StoredSignal]: ...

    def mark_dispatched(self, signal_id: int, eligible_agents: int, now: datetime,
                        targets: Sequence[uuid.UUID] = ()) -> None:
        """``targets``: the agents this fan-out found eligible; an agent waits only for
        the earlier signals it is a target of (docs/rules.md §3)."""
        ...

    def mark_processed_if_complete(self, signal_id: int, now: datetime) -> bool: ...

    def ahead_of(self, signal_id: int,
                 agent_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Ahead]: ...

    def unfinished_before(self, now: datetime, grace: timedelta,
                          limit: int = 500) -> list[int]: ...


class Executions(Protocol):
    def claim_execution(self, signal_id: int, agent_id: uuid.UUID) -> bool: ...

    def complete(self, signal_id: int, agent_id: uuid.UUID, *, status: str, action: str,
                 reason: str | None, transaction_id: uuid.UUID | None,
                 now: datetime) -> None: ...

    def release(self, signal_id: int, agent_id: uuid.UUID) -> None: ...

    def count_for_signal(self, signal_id: int) -> int: ...

    def for_signal(self, signal_id: int) -> Sequence[Execution]: ...


class Bulk(Protocol):
    """Set-based reads and writes for a chunk of agents (the fan-out hot path)."""

    def claim_executions(self, signal_id: int,
                         agent_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]: ...

    def complete_executions(self, signal_id: int, results: Sequence[ExecutionResult],
                            now: datetime) -> None: ...

    def lock_agents(self, agent_ids: Iterable[uuid.UUID]
                    ) -> dict[uuid.UUID, tuple[Agent, StoredConfig]]: ...

    def wallets(self, agents: Iterable[Agent]) -> dict[uuid.UUID, Wallet]: ...

    def balances(self, wallets: Iterable[str], token: str) -> dict[str, Decimal]: ...

    def open_positions(self, agent_ids: Iterable[uuid.UUID],
                       token: str) -> dict[uuid.UUID, Position]: ...

    def open_counts(self, agent_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]: ...

    def add_transactions(self, txs: Sequence[Transaction]) -> None: ...

    def add_positions(self, positions: Sequence[Position]) -> None: ...

    def apply_balances(self, txs: Sequence[Transaction],
                       now: datetime) -> dict[str, dict[str, Decimal]]: ...


class PriceHistory(Protocol):
    def add_many(self, quotes: Iterable[PriceQuote]) -> int: ...

    def fold_into_bars(self, cutoff: datetime, span: timedelta) -> int:
        """Fold raw rows older than ``cutoff`` (one ``span``) into 1-minute bars; returns
        the raw rows folded (0 when none is left, or another process holds the lock)."""
        ...


class Snapshots(Protocol):
    def wallets(self) -> list[WalletCash]: ...

    def upsert_many(self, hour: datetime,
                    rows: Sequence[tuple[uuid.UUID, str, Snapshot]]) -> int: ...

    def for_agent(self, agent_id: uuid.UUID,
                  since: datetime | None = None) -> list[StoredSnapshot]: ...


class Submissions(Protocol):
    def add(self, sub: SwapSubmission, now: datetime) -> uuid.UUID: ...

    def get(self, submission_id: uuid.UUID) -> SwapSubmission: ...

    def in_flight(self, agent_id: uuid.UUID) -> bool: ...

    def busy_since(self, agent_id: uuid.UUID, since: datetime) -> bool:
        """A swap of the agent is in flight, or one changed at or after ``since``."""
        ...

    def mark_submitted(self, sub: SwapSubmission, now: datetime) -> bool: ...

    def transition(self, submission_id: uuid.UUID, expected: str, status: str, now: datetime,
                   *, error: str | None = None,
                   transaction_id: uuid.UUID | None = None) -> bool: ...

    def set_transaction(self, submission_id: uuid.UUID, transaction_id: uuid.UUID) -> None: ...

    def due(self, submitted_before: datetime, intent_before: datetime,
            limit: int = 100) -> Sequence[SwapSubmission]: ...

    def for_agent(self, agent_id: uuid.UUID) -> Sequence[SwapSubmission]: ...


class LiveWallets(Protocol):
    def owners(self) -> dict[str, tuple[uuid.UUID, str]]: ...

    def owner_of(self, address: str) -> uuid.UUID | None: ...


class ApiKeys(Protocol):
    def add(self, *, user_id: uuid.UUID, name: str, key_hash: str, key_prefix: str,
            scopes: Sequence[str], now: datetime) -> uuid.UUID: ...

    def by_hash(self, key_hash: str) -> StoredKey | None: ...

    def revoke(self, key_id: uuid.UUID, now: datetime) -> bool: ...

    def touch(self, key_id: uuid.UUID, now: datetime) -> None: ...


class UnitOfWork(Protocol):
    """One database transaction with its repositories (see persistence/unit_of_work.py).

    ``with uow:`` opens it; ``commit()`` commits and then runs the after-commit hooks;
    leaving the block without a commit rolls back and drops them.
    """

    @property
    def users(self) -> Users: ...

    @property
    def agents(self) -> Agents: ...

    @property
    def wallets(self) -> Wallets: ...

    @property
    def balances(self) -> Balances: ...

    @property
    def transactions(self) -> Transactions: ...

    @property
    def positions(self) -> Positions: ...

    @property
    def history(self) -> History: ...

    @property
    def signals(self) -> Signals: ...

    @property
    def executions(self) -> Executions: ...

    @property
    def bulk(self) -> Bulk: ...

    @property
    def prices(self) -> PriceHistory: ...

    @property
    def snapshots(self) -> Snapshots: ...

    @property
    def submissions(self) -> Submissions: ...

    @property
    def live_wallets(self) -> LiveWallets: ...

    @property
    def api_keys(self) -> ApiKeys: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def after_commit(self, hook: Callable[[], None]) -> None: ...

    def savepoint(self) -> AbstractContextManager[None]: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
