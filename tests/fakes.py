"""In-memory fakes of the handlers' ports (``domain/ports.py``): a unit of work whose
repositories keep rows in dicts, a price feed, the cache, the task queue, the live venue's
keys and a fixed clock (state, not calls, is what the tests assert)."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.agents import Agent, TokenMetrics
from domain.ledger import ClosedTrade, Transaction
from domain.ports import Fill, PriceQuote
from domain.positions import Position
from domain.submissions import IN_FLIGHT, SwapSubmission
from domain.wallets import Wallet
from workers.handlers.shared.deps import Deps, Policy


@dataclasses.dataclass
class Store:
    agents: dict[uuid.UUID, tuple[Agent, dict[str, Any] | None]]
    wallets: list[Wallet]
    positions: dict[uuid.UUID, Position] = dataclasses.field(default_factory=dict)
    balances: dict[tuple[str, str], Decimal] = dataclasses.field(default_factory=dict)
    transactions: list[Transaction] = dataclasses.field(default_factory=list)
    history: list[ClosedTrade] = dataclasses.field(default_factory=list)
    prices: list[PriceQuote] = dataclasses.field(default_factory=list)
    snapshots: list[Any] = dataclasses.field(default_factory=list)
    submissions: list[SwapSubmission] = dataclasses.field(default_factory=list)
    commits: int = 0


class _Positions:
    def __init__(self, store: Store) -> None:
        self.s = store

    def open_tokens(self) -> list[str]:
        return sorted({p.token_address for p in self.s.positions.values()})

    def list_open(self, agent_id: uuid.UUID | None = None,
                  token_addresses: Iterable[str] | None = None) -> list[Position]:
        tokens = None if token_addresses is None else set(token_addresses)
        return [p for p in self.s.positions.values() if tokens is None or p.token_address in tokens]

    def get(self, position_id: uuid.UUID, *, for_update: bool = False) -> Position | None:
        return self.s.positions.get(position_id)

    def update(self, position: Position) -> None:
        self.s.positions[position.id] = position

    def delete(self, position_id: uuid.UUID) -> None:
        del self.s.positions[position_id]

    def update_stops(self, changes: Sequence[tuple[uuid.UUID, Any, Any]], now: datetime) -> None:
        for pid, peak, stop in changes:
            if pid in self.s.positions:
                p = self.s.positions[pid]
                self.s.positions[pid] = dataclasses.replace(
                    p, peak_price=max(peak, p.peak_price or peak),
                    current_stop_loss_percentage=max(stop, p.current_stop_loss_percentage or stop),
                    last_stop_loss_update=now)


class _Agents:
    def __init__(self, store: Store) -> None:
        self.s = store

    def get_config(self, agent_id: uuid.UUID) -> dict[str, Any] | None:
        return self.s.agents[agent_id][1]

    def configs(self, agent_ids: Any) -> dict[uuid.UUID, dict[str, Any] | None]:
        return {a: self.s.agents[a][1] for a in agent_ids if a in self.s.agents}

    def lock_with_config(self, agent_id: uuid.UUID) -> tuple[Agent, dict[str, Any] | None]:
        return self.s.agents[agent_id]

    def get(self, agent_id: uuid.UUID) -> Agent:
        return self.s.agents[agent_id][0]

    def all(self) -> list[Agent]:
        return [agent for agent, _ in self.s.agents.values()]


class _Wallets:
    def __init__(self, store: Store) -> None:
        self.s = store

    def for_agent(self, agent_id: uuid.UUID, wallet_type: str) -> Wallet | None:
        return next((w for w in self.s.wallets
                     if w.agent_id == agent_id and w.wallet_type == wallet_type), None)


class _Balances:
    def __init__(self, store: Store) -> None:
        self.s = store

    def get(self, wallet: str, token: str, *, for_update: bool = False) -> Decimal:
        return self.s.balances.get((wallet, token), Decimal(0))

    def apply(self, agent_id: uuid.UUID, tx: Transaction, now: datetime) -> dict[str, Decimal]:
        new = {}
        for mint, change in tx.balance_changes().items():
            key = (tx.wallet_address, mint)
            self.s.balances[key] = new[mint] = self.s.balances.get(key, Decimal(0)) + change
            assert new[mint] >= 0, mint
        return new


class _Transactions:
    def __init__(self, store: Store) -> None:
        self.s = store

    def add(self, tx: Transaction) -> uuid.UUID:
        self.s.transactions.append(tx)
        return tx.id

    def for_agent(self, agent_id: uuid.UUID) -> list[Transaction]:
        return [t for t in self.s.transactions if t.agent_id == agent_id]

    def sale_proceeds(self, wallet: str, token: str, since: datetime) -> Decimal:
        return sum((t.output_amount or Decimal(0)) - t.fees_sol for t in self.s.transactions
                   if t.wallet_address == wallet and t.input_mint == token
                   and t.transaction_time >= since)


class _Appender:
    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def add(self, row: Any) -> None:
        self.rows.append(row)

    def for_agent(self, agent_id: uuid.UUID, since: datetime | None = None) -> list[Any]:
        return [r for r in self.rows if r.agent_id == agent_id]

    def add_many(self, rows: Iterable[Any]) -> int:
        before = len(self.rows)
        self.rows.extend(rows)
        return len(self.rows) - before


class _Submissions:
    def __init__(self, store: Store) -> None:
        self.s = store

    def add(self, sub: SwapSubmission, now: datetime) -> uuid.UUID:
        self.s.submissions.append(dataclasses.replace(sub, created_at=now, updated_at=now))
        return sub.id

    def in_flight(self, agent_id: uuid.UUID) -> bool:
        return any(x.agent_id == agent_id and x.status in IN_FLIGHT for x in self.s.submissions)


class FakeUnitOfWork:
    """Writes go straight to the store (no rollback): enough for single-threaded tests."""

    def __init__(self, store: Store) -> None:
        self.s = store
        self.positions, self.agents = _Positions(store), _Agents(store)
        self.wallets, self.balances = _Wallets(store), _Balances(store)
        self.transactions, self.history = _Transactions(store), _Appender(store.history)
        self.prices, self.snapshots = _Appender(store.prices), _Appender(store.snapshots)
        self.submissions = _Submissions(store)
        self._hooks: list[Callable[[], None]] = []

    def __enter__(self) -> FakeUnitOfWork:
        self._hooks = []
        return self

    def __exit__(self, *exc: object) -> None:
        self._hooks = []

    def after_commit(self, hook: Callable[[], None]) -> None:
        self._hooks.append(hook)

    def commit(self) -> None:
        self.s.commits += 1
        for hook in self._hooks:
            hook()
        self._hooks = []

    def rollback(self) -> None:
        self._hooks = []

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        yield


class FakeSwaps:
    """Fills exactly at the quote with a flat network fee."""

    fee = Decimal("0.000005")

    def price_impact(self, token: str, sol_amount: Decimal, price: PriceQuote) -> Decimal:
        return Decimal(0)

    def buy(self, wallet: str, token: str, sol_amount: Decimal, price: PriceQuote) -> Fill:
        return Fill(sol_amount, sol_amount / price.price_sol, network_fee_sol=self.fee)

    def sell(self, wallet: str, token: str, token_amount: Decimal, price: PriceQuote) -> Fill:
        return Fill(token_amount * price.price_sol, token_amount, network_fee_sol=self.fee)


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


class FakePriceFeed:
    """Prices as given; a token without one is absent (never zero)."""

    def __init__(self, quotes: dict[str, PriceQuote] | None = None) -> None:
        self.quotes = dict(quotes or {})

    def get_prices(self, token_addresses: Sequence[str]) -> dict[str, PriceQuote]:
        return {t: self.quotes[t] for t in token_addresses if t in self.quotes}


class FakeCache:
    """The Redis write-through in memory: the latest prices and what was written."""

    def __init__(self, quotes: dict[str, PriceQuote] | None = None) -> None:
        self.quotes = dict(quotes or {})
        self.writes: list[tuple[Any, list[Position], list[tuple[uuid.UUID, str]]]] = []

    def write(self, *, balances: Any = None, positions: Iterable[Position] = (),
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
    live: list[uuid.UUID] = dataclasses.field(default_factory=list)
    sweeps: list[list[str]] = dataclasses.field(default_factory=list)

    def fan_out(self, signal_ids: Sequence[int]) -> None:
        self.fan_outs.append(list(signal_ids))

    def execute(self, signal_id: int, agent_ids: Sequence[uuid.UUID]) -> None:
        self.executes.append((signal_id, list(agent_ids)))

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

    def has_key(self, wallet_address: str) -> bool:
        return wallet_address in self.keys

    def _never(self, *args: object) -> Any:
        raise AssertionError("a handler test reached the chain")

    quote = sign_swap = token_decimals = send = block_height = status = _never
    network_fee = fill = _never


def make_deps(store: Store, *, now: datetime, cached: dict[str, PriceQuote] | None = None,
              feed: dict[str, PriceQuote] | None = None, keys: Iterable[str] = (),
              uow: Callable[[], Any] | None = None) -> Deps:
    """Every port of the handlers on the fakes over ``store``."""
    return Deps(uow=uow or (lambda: FakeUnitOfWork(store)), cache=FakeCache(cached),
                clock=FixedClock(now), queue=RecordingQueue(), prices=FakePriceFeed(feed),
                metrics=NoMetrics(), paper=FakeSwaps(), venue=KeysOnlyVenue(keys),
                policy=Policy(price_freshness=timedelta(seconds=30)))


def db_deps(uow: Callable[[], Any], now: datetime | None = None) -> Deps:
    """The fakes' ports around a real unit of work (integration tests of one use case)."""
    from datetime import UTC

    return dataclasses.replace(make_deps(Store({}, []), now=now or datetime.now(UTC)), uow=uow)
