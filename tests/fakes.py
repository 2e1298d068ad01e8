"""In-memory fakes of every port of ``domain/ports.py``: a unit of work with real transaction
semantics over a ``Store`` of rows (its repositories are in ``tests/fake_store.py`` and
``tests/fake_repositories.py``), a price feed, the cache, the task queue, the live venue's keys
and a fixed clock. Tests assert state (rows in the store, what was enqueued), not calls.
``mypy --strict`` checks each fake against its Protocol (``_conforms`` below)."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import NoReturn, Self

from domain.agents import TokenMetrics
from domain.ports import (
    CacheWriter,
    Clock,
    Fill,
    LiveVenue,
    MetricsSource,
    PriceFeed,
    PriceQuote,
    SignedSwap,
    SwapExecutor,
    SwapQuote,
    SwapStatus,
    TaskQueue,
    UnitOfWork,
    UnitOfWorkFactory,
)
from domain.positions import Position
from domain.submissions import SwapSubmission
from domain.wallet_sync import ChainBalances
from tests.fake_positions import FakeHistory, FakePositions
from tests.fake_repositories import (
    FakeApiKeys,
    FakeBulk,
    FakeExecutions,
    FakeLiveWallets,
    FakePriceHistory,
    FakeSignals,
    FakeSnapshots,
    FakeSubmissions,
)
from tests.fake_store import (
    FakeAgents,
    FakeBalances,
    FakeTransactions,
    FakeUsers,
    FakeWallets,
    Store,
    UniqueViolation,
)
from workers.handlers.shared.deps import Deps, Policy

__all__ = ["FakeCache", "FakePriceFeed", "FakeSwaps", "FakeUnitOfWork", "FixedClock",
           "KeysOnlyVenue", "NoMetrics", "RecordingQueue", "Store", "UniqueViolation",
           "db_deps", "make_deps"]


class FakeUnitOfWork:
    """One transaction over ``store``: ``with`` opens it (the rows are copied), ``commit()``
    keeps the writes and then runs the after-commit hooks in order; leaving the block
    without a commit restores the rows and drops the hooks. An exception inside
    ``savepoint()`` restores the rows as they were when it opened (the hooks stay, as in
    persistence/unit_of_work.py). Single-threaded: nothing is locked."""

    def __init__(self, store: Store) -> None:
        self.s = store
        self.users, self.agents = FakeUsers(store), FakeAgents(store)
        self.wallets, self.balances = FakeWallets(store), FakeBalances(store)
        self.transactions, self.positions = FakeTransactions(store), FakePositions(store)
        self.history, self.signals = FakeHistory(store), FakeSignals(store)
        self.executions, self.bulk = FakeExecutions(store), FakeBulk(store)
        self.prices, self.snapshots = FakePriceHistory(store), FakeSnapshots(store)
        self.submissions, self.live_wallets = FakeSubmissions(store), FakeLiveWallets(store)
        self.api_keys = FakeApiKeys(store)
        self._hooks: list[Callable[[], None]] = []
        self._begun: dict[str, object] | None = None

    def __enter__(self) -> Self:
        self._begun, self._hooks = self.s.copy_rows(), []
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._begun is not None:
            self.rollback()
        self._begun = None

    def _open(self) -> dict[str, object]:
        if self._begun is None:
            raise RuntimeError("the unit of work is not open: use `with uow:`")
        return self._begun

    def after_commit(self, hook: Callable[[], None]) -> None:
        self._hooks.append(hook)

    def commit(self) -> None:
        self._open()
        self._begun = self.s.copy_rows()  # what a later rollback returns to
        self.s.commits += 1
        hooks, self._hooks = self._hooks, []
        for hook in hooks:
            hook()

    def rollback(self) -> None:
        self.s.restore(self._open())
        self._hooks = []

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        self._open()
        saved = self.s.copy_rows()
        try:
            yield
        except BaseException:
            self.s.restore(saved)
            raise


class FakeSwaps:
    """Fills exactly at the quote with a flat network fee; ``impact`` is every quote's
    price impact."""

    fee = Decimal("0.000005")

    def __init__(self, impact: Decimal = Decimal(0)) -> None:
        self.impact = impact

    def price_impact(self, token_address: str, sol_amount: Decimal,
                     price: PriceQuote) -> Decimal:
        return self.impact

    def buy(self, wallet_address: str, token_address: str, sol_amount: Decimal,
            price: PriceQuote) -> Fill:
        return Fill(sol_amount, sol_amount / price.price_sol, network_fee_sol=self.fee)

    def sell(self, wallet_address: str, token_address: str, token_amount: Decimal,
             price: PriceQuote) -> Fill:
        return Fill(token_amount * price.price_sol, token_amount, network_fee_sol=self.fee)


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


class FakePriceFeed:
    """Prices as given; a token without one is absent (never zero)."""

    def __init__(self, quotes: Mapping[str, PriceQuote] | None = None) -> None:
        self.quotes = dict(quotes or {})

    def get_prices(self, token_addresses: Sequence[str]) -> dict[str, PriceQuote]:
        return {t: self.quotes[t] for t in token_addresses if t in self.quotes}


CacheWrite = tuple[Mapping[str, Mapping[str, Decimal]] | None, list[Position],
                   list[tuple[uuid.UUID, str]]]


class FakeCache:
    """The Redis write-through in memory: the latest prices and what was written."""

    def __init__(self, quotes: Mapping[str, PriceQuote] | None = None) -> None:
        self.quotes = dict(quotes or {})
        self.writes: list[CacheWrite] = []

    def write(self, *, balances: Mapping[str, Mapping[str, Decimal]] | None = None,
              positions: Iterable[Position] = (),
              closed: Iterable[tuple[uuid.UUID, str]] = ()) -> None:
        self.writes.append((balances, list(positions), list(closed)))

    def write_prices(self, quotes: Iterable[PriceQuote]) -> None:
        self.quotes.update({q.token_address: q for q in quotes})

    def latest_prices(self, tokens: Iterable[str]) -> dict[str, PriceQuote]:
        return {t: self.quotes[t] for t in tokens if t in self.quotes}


@dataclasses.dataclass
class RecordingQueue:
    """The task queue: what would have been enqueued, in order."""

    fan_outs: list[list[int]] = dataclasses.field(default_factory=list)
    executes: list[tuple[int, list[uuid.UUID]]] = dataclasses.field(default_factory=list)
    attempts: list[tuple[int, float]] = dataclasses.field(default_factory=list)  # per execute
    live: list[uuid.UUID] = dataclasses.field(default_factory=list)
    sweeps: list[list[str]] = dataclasses.field(default_factory=list)

    def fan_out(self, signal_ids: Sequence[int]) -> None:
        self.fan_outs.append(list(signal_ids))

    def execute(self, signal_id: int, agent_ids: Sequence[uuid.UUID], attempt: int = 0,
                delay_s: float = 0.0) -> None:
        self.executes.append((signal_id, list(agent_ids)))
        self.attempts.append((attempt, delay_s))

    def run_live(self, submission_id: uuid.UUID) -> None:
        self.live.append(submission_id)

    def sweep_tokens(self, token_addresses: Sequence[str]) -> None:
        self.sweeps.append(list(token_addresses))


class NoMetrics:
    def metrics_for(self, token_address: str) -> TokenMetrics | None:
        return None


class KeysOnlyVenue:
    """A live venue that knows which keys are loaded and trades nothing: handler tests
    check the intents; the chain itself is tested on LiteSVM."""

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self.keys = set(keys)
        # What the chain holds per wallet (the wallet sync's reads); a wallet missing here
        # is a chain the handler should not have reached.
        self.chain: dict[str, ChainBalances] = {}
        self.reads: list[str] = []

    def has_key(self, wallet_address: str) -> bool:
        return wallet_address in self.keys

    def quote(self, input_mint: str, output_mint: str, amount_base_units: int,
              slippage_bps: int) -> SwapQuote:
        _never()

    def sign_swap(self, quote: SwapQuote, wallet_address: str,
                  max_priority_lamports: int) -> SignedSwap:
        _never()

    def token_decimals(self, mint: str) -> int:
        _never()

    def send(self, raw: bytes) -> None:
        _never()

    def block_height(self) -> int:
        _never()

    def status(self, signature: str) -> SwapStatus | None:
        _never()

    def network_fee(self, signature: str) -> Decimal | None:
        _never()

    def fill(self, sub: SwapSubmission) -> Fill | None:
        _never()

    def wallet_balances(self, wallet_address: str) -> ChainBalances:
        self.reads.append(wallet_address)
        if wallet_address not in self.chain:
            _never()
        return self.chain[wallet_address]


def _never() -> NoReturn:
    raise AssertionError("a handler test reached the chain")


def make_deps(store: Store, *, now: datetime, cached: Mapping[str, PriceQuote] | None = None,
              feed: Mapping[str, PriceQuote] | None = None, keys: Iterable[str] = (),
              uow: UnitOfWorkFactory | None = None) -> Deps:
    """Every port of the handlers on the fakes over ``store``."""
    return Deps(uow=uow or (lambda: FakeUnitOfWork(store)), cache=FakeCache(cached),
                clock=FixedClock(now), queue=RecordingQueue(), prices=FakePriceFeed(feed),
                metrics=NoMetrics(), paper=FakeSwaps(), venue=KeysOnlyVenue(keys),
                policy=Policy(price_freshness=timedelta(seconds=30)))


def db_deps(uow: UnitOfWorkFactory, now: datetime | None = None) -> Deps:
    """The fakes' ports around a real unit of work (integration tests of one use case)."""
    return dataclasses.replace(make_deps(Store({}, []), now=now or datetime.now(UTC)), uow=uow)


# mypy proves here that each fake implements its port (a missing or mistyped method fails
# `make typecheck`).
def _conforms(u: FakeUnitOfWork, f: FakePriceFeed, c: FakeCache, q: RecordingQueue,
              m: NoMetrics, v: KeysOnlyVenue, k: FixedClock, s: FakeSwaps
              ) -> tuple[UnitOfWork, PriceFeed, CacheWriter, TaskQueue, MetricsSource,
                         LiveVenue, Clock, SwapExecutor]:
    return u, f, c, q, m, v, k, s
