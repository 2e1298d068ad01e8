"""The unit of work owns the transaction (docs/architecture.md).

``with uow:`` opens a session; ``uow.commit()`` commits and then runs the after-commit hooks
(cache write-through, enqueues) in the order they were added; leaving the block without a
commit rolls back and drops the hooks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Self, cast

import psycopg
import structlog
from psycopg.pq import TransactionStatus
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from domain.errors import TransientError
from domain.ports import UnitOfWork
from persistence.redis_outage import outage, process_episode
from persistence.repositories import (
    AgentRepository,
    ApiKeyRepository,
    BalanceRepository,
    ExecutionRepository,
    HistoryRepository,
    PositionRepository,
    SignalRepository,
    TransactionRepository,
    UserRepository,
    WalletRepository,
)
from persistence.repositories.bulk import BulkRepository
from persistence.repositories.prices import TokenPriceRepository
from persistence.repositories.snapshots import SnapshotRepository
from persistence.repositories.submissions import LiveWalletRepository, SwapSubmissionRepository

log = structlog.get_logger(__name__)

# SQLSTATEs worth a retry: serialization failure, deadlock, lost or refused connection.
_TRANSIENT_SQLSTATES = {"40001", "40P01", "57P01", "57P02", "57P03", "08000", "08003", "08006"}


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None)
        return sqlstate in _TRANSIENT_SQLSTATES
    return False


def _discard_if_interrupted(session: Session) -> bool:
    """A query interrupted mid-flight (the task's soft time limit, raised while psycopg waited
    for a lock) leaves its connection busy: any next command fails with "another command is
    already in progress". Cancel the query on the server (it would otherwise wait on, holding
    its place in the lock queue), then discard the connection instead of returning it to the
    pool. Returns whether it did."""
    if not session.in_transaction():
        return False
    try:
        raw = cast("psycopg.Connection[Any] | None",
                   session.connection().connection.driver_connection)
    except SQLAlchemyError:  # lost or invalidated already: the rollback below deals with it
        return False
    if raw is None or raw.info.transaction_status != TransactionStatus.ACTIVE:
        return False
    with contextlib.suppress(Exception):
        raw.cancel_safe(timeout=2.0)
    session.invalidate()
    log.warning("uow.connection_discarded", reason="interrupted mid-query")
    return True


class SqlAlchemyUnitOfWork:
    users: UserRepository
    agents: AgentRepository
    wallets: WalletRepository
    balances: BalanceRepository
    transactions: TransactionRepository
    positions: PositionRepository
    history: HistoryRepository
    signals: SignalRepository
    bulk: BulkRepository
    prices: TokenPriceRepository
    snapshots: SnapshotRepository
    executions: ExecutionRepository
    submissions: SwapSubmissionRepository
    live_wallets: LiveWalletRepository
    api_keys: ApiKeyRepository

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory
        self._hooks: list[Callable[[], None]] = []
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use `with uow:`")
        return self._session

    def __enter__(self) -> Self:
        session = self._session = self._factory()
        self._hooks = []
        self.users = UserRepository(session)
        self.agents = AgentRepository(session)
        self.wallets = WalletRepository(session)
        self.balances = BalanceRepository(session)
        self.transactions = TransactionRepository(session)
        self.positions = PositionRepository(session)
        self.history = HistoryRepository(session)
        self.signals = SignalRepository(session)
        self.bulk = BulkRepository(session)
        self.prices = TokenPriceRepository(session)
        self.snapshots = SnapshotRepository(session)
        self.executions = ExecutionRepository(session)
        self.submissions = SwapSubmissionRepository(session)
        self.live_wallets = LiveWalletRepository(session)
        self.api_keys = ApiKeyRepository(session)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        session, self._session = self._session, None
        self._hooks = []
        if session is not None and not _discard_if_interrupted(session):
            try:
                session.rollback()
            except DBAPIError as failed:  # the connection is unusable: never pool it again
                session.invalidate()
                if exc is None:
                    raise TransientError("database connection unusable") from failed
            finally:
                session.close()
        if exc is not None and is_transient(exc):
            raise TransientError(f"database unavailable: {type(exc).__name__}") from exc

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` after the next successful commit; dropped on rollback."""
        self._hooks.append(hook)

    def commit(self) -> None:
        self.session.commit()
        hooks, self._hooks = self._hooks, []
        for hook in hooks:
            try:
                hook()
            except Exception as exc:  # the commit stands; a failed cache write heals on next
                # read, a lost enqueue is re-sent by the outbox sweeper
                if outage(exc) is not None:
                    process_episode().failed(exc)  # Redis down or full: one line per outage
                else:
                    log.exception("uow.after_commit_failed",
                                  hook=getattr(hook, "__name__", "?"))

    def rollback(self) -> None:
        self.session.rollback()
        self._hooks = []

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: an error inside rolls back only this block."""
        with self.session.begin_nested():
            yield


def as_port(uow: SqlAlchemyUnitOfWork) -> UnitOfWork:
    """The concrete unit of work seen through the port: mypy checks here that it and every
    repository implement the Protocols of ``domain/ports.py``."""
    return uow
