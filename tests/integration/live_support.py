"""Wiring for the live-trading tests: real PostgreSQL, a real SVM behind a loopback Solana RPC
node and a fake Jupiter whose swaps execute there (``tests.live_fakes``), a known key."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from sqlalchemy import Engine, select

from domain.ledger import SOL_MINT
from domain.ports import PriceQuote
from domain.signals import Signal
from persistence import models as m
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.fakes import FakeCache, FakeSwaps, NoMetrics, RecordingQueue
from tests.invariants import assert_ledger_invariant, assert_money_conserved
from tests.live_fakes import MINT, LiveChain
from workers.adapters.http import RetryPolicy
from workers.adapters.jupiter import JupiterClient
from workers.adapters.live_venue import ChainVenue
from workers.adapters.solana_rpc import SolanaRpc
from workers.adapters.wallets import WalletRegistry, load_wallets
from workers.handlers.operators.agents import NewAgent, create_agent, deposit
from workers.handlers.operators.wallets import assign
from workers.handlers.shared.deps import Deps, LiveConfig, Policy
from workers.handlers.signals.agent import Outcome
from workers.handlers.signals.execute import execute_signal

# A fixed test key (64-byte secret, base58), never a real wallet's.
SECRET_B58 = str(Keypair.from_seed(bytes(range(1, 33))))
FIXED = {"positionCalculator": {"randomization": {"enabled": False}},
         "purchaseLimits": {"maxPurchasePerToken": "1"}}
UNITS = Decimal(10) ** 6  # the test mint's decimals


class Clock:
    def __init__(self) -> None:
        self.current = datetime.now(UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class Ticker:
    """A monotonic clock that only moves when the code sleeps."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps = 0

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.t += seconds

    def monotonic(self) -> float:
        return self.t


class FixedPrices:
    def __init__(self, price: str = "0.001") -> None:
        self.price = Decimal(price)

    def get_prices(self, tokens: Any) -> dict[str, PriceQuote]:
        return {t: PriceQuote(t, self.price, datetime.now(UTC), "test", Decimal("0.2"))
                for t in tokens}


@dataclass
class Live:
    engine: Engine
    chain: LiveChain
    registry: WalletRegistry
    clock: Clock = field(default_factory=Clock)
    ticker: Ticker = field(default_factory=Ticker)
    prices: FixedPrices = field(default_factory=FixedPrices)
    queue: RecordingQueue = field(default_factory=RecordingQueue)
    config: LiveConfig = field(default_factory=lambda: LiveConfig(
        confirm_timeout_s=10, poll_s=1, resend_s=100))

    @property
    def submitted(self) -> list[uuid.UUID]:
        """The submissions handed to ``live.execute`` after their commit."""
        return self.queue.live

    @property
    def address(self) -> str:
        return self.registry.addresses()[0]

    def uow(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(make_session_factory(self.engine))

    def policy(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=4, timeout_s=1.0, sleep=self.ticker.sleep,
                           rand=lambda: 0.5)

    def deps(self, idle: float | None = None, grace: float | None = None) -> Deps:
        """The handlers' ports on real PostgreSQL and the chain behind the real Jupiter and
        RPC adapters; ``idle``/``grace`` set the reconciler's windows (seconds)."""
        http = self.chain.client()
        rpc = SolanaRpc(self.chain.rpc_url, http, policy=self.policy())
        jupiter = JupiterClient(http, base_url=self.chain.jupiter_url, api_key="k-test",
                                policy=self.policy(), lookup_tables=rpc)
        live = self.config
        if idle is not None:
            live = replace(live, submitted_idle_s=idle)
        if grace is not None:
            live = replace(live, intent_grace_s=grace)
        return Deps(uow=self.uow, cache=FakeCache(), clock=self.clock, queue=self.queue,
                    prices=self.prices, metrics=NoMetrics(), paper=FakeSwaps(),
                    venue=ChainVenue(jupiter, rpc, self.registry),
                    policy=Policy(rng=random.Random(1)), live=live,
                    sleep=self.ticker.sleep, monotonic=self.ticker.monotonic)

    def agent(self, name: str = "live-one", config: dict[str, Any] | None = None,
              sol: str = "10") -> uuid.UUID:
        new = NewAgent(name=name, mode="live", config=FIXED if config is None else config)
        agent_id = create_agent(self.uow(), self.clock, new)
        wallet = assign(self.uow(), agent_id, self.address, self.registry)
        with self.uow() as uow:
            deposit(uow, wallet, Decimal(sol), self.clock)
            uow.commit()
        return agent_id

    def signal(self, agent_id: uuid.UUID, signal_type: str = "buy") -> Outcome:
        with self.uow() as uow:
            signal_id, _ = uow.signals.add(Signal(MINT, signal_type, 50), self.clock.now())
            uow.signals.mark_dispatched(signal_id, 1, self.clock.now())
            uow.commit()
        [outcome] = execute_signal(signal_id, [agent_id], self.deps())
        return outcome

    def rows(self, model: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(model)))

    def sol_balance(self, agent_id: uuid.UUID) -> Decimal:
        with self.engine.connect() as conn:
            value: Decimal = conn.execute(select(m.AgentBalance.balance).where(
                m.AgentBalance.wallet_address == self.address,
                m.AgentBalance.token_address == SOL_MINT)).scalar_one()
        return value


def assert_chain_matches_ledger(lv: Live, agent_id: uuid.UUID) -> None:
    """The ledger's SOL and token balances are what the chain holds; the invariants hold."""
    assert lv.chain.lamports(lv.address) == lv.sol_balance(agent_id) * 10 ** 9
    tokens = {r.token_address: r.balance for r in lv.rows(m.AgentBalance)}
    assert lv.chain.token_units(lv.address) == tokens.get(MINT, Decimal(0)) * UNITS
    held = sum((p.remaining_amount or p.purchase_amount for p in lv.rows(m.AgentPosition)),
               Decimal(0))
    assert held == tokens.get(MINT, Decimal(0))
    assert_ledger_invariant(lv.engine)
    assert_money_conserved(lv.engine)


def reset_wallet(chain: LiveChain, address: str) -> None:
    """A chain shared by a module's tests (its worker processes are pointed at it) made as
    ``live()`` makes a fresh one: the wallet holds 10 SOL and an empty token account; the
    knobs are back to a plain, landing, 1 SOL-per-1,000-tokens market."""
    owner = Pubkey.from_string(address)
    chain.runtime.set_lamports(owner, 10_000_000_000)
    chain.runtime.set_token_balance(owner, Pubkey.from_string(MINT), 0)
    chain.land, chain.lamports_per_unit, chain.onchain_error = True, Decimal(1), None


_CHAINS: list[LiveChain] = []


def live(engine: Engine, *, token_account: bool = True, **chain: Any) -> Live:
    """A wallet with 10 SOL (and, unless told otherwise, an empty token account for ``MINT``,
    as a wallet that traded the token before has) on a fresh chain."""
    registry = load_wallets({"WALLET_1": SECRET_B58})
    fresh = LiveChain(**chain)
    _CHAINS.append(fresh)
    fresh.fund(registry.addresses()[0], tokens=0 if token_account else None)
    return Live(engine, fresh, registry)


@pytest.fixture(autouse=True)
def close_chains() -> Iterator[None]:
    """Stop the loopback servers a test started (import this fixture into the test module)."""
    yield
    while _CHAINS:
        _CHAINS.pop().close()
