"""Wiring for the live-trading tests: real PostgreSQL, a real SVM behind a loopback Solana RPC
node and a fake Jupiter whose swaps execute there (``tests.live_fakes``), a known key."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from solders.keypair import Keypair
from sqlalchemy import Engine, select

from domain.ledger import SOL_MINT
from domain.ports import PriceQuote
from domain.signals import Signal
from persistence import models as m
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.live_fakes import MINT, LiveChain
from workers.adapters.http import RetryPolicy
from workers.adapters.jupiter import JupiterClient
from workers.adapters.live_fills import token_decimals
from workers.adapters.solana_rpc import SolanaRpc
from workers.adapters.wallets import WalletRegistry, load_wallets
from workers.handlers.agents import create_agent, deposit
from workers.handlers.execute import ExecutionDeps, Outcome, execute_signal
from workers.handlers.live import LiveConfig, LiveDeps
from workers.handlers.live_intents import LiveSwaps
from workers.handlers.live_record import RecordDeps
from workers.handlers.wallets import assign

# A fixed test key (64-byte secret, base58), never a real wallet's.
SECRET_B58 = str(Keypair.from_seed(bytes(range(1, 33))))
FIXED = {"positionCalculator": {"randomization": {"enabled": False}},
         "purchaseLimits": {"maxPurchasePerToken": "1"}}


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
    submitted: list[uuid.UUID] = field(default_factory=list)
    config: LiveConfig = field(default_factory=lambda: LiveConfig(
        confirm_timeout_s=10, poll_s=1, resend_s=100))

    @property
    def address(self) -> str:
        return self.registry.addresses()[0]

    def uow(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(make_session_factory(self.engine))

    def policy(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=4, timeout_s=1.0, sleep=self.ticker.sleep,
                           rand=lambda: 0.5)

    def deps(self) -> LiveDeps:
        http = self.chain.client()
        rpc = SolanaRpc(self.chain.rpc_url, http, policy=self.policy())
        record = RecordDeps(uow=self.uow, rpc=rpc, write_cache=lambda touched: None,
                            clock=self.clock)
        return LiveDeps(record=record, wallets=self.registry,
                        jupiter=JupiterClient(http, base_url=self.chain.jupiter_url,
                                              api_key="k-test", policy=self.policy(),
                                              lookup_tables=rpc),
                        token_decimals=lambda mint: token_decimals(rpc, mint),
                        sleep=self.ticker.sleep, monotonic=self.ticker.monotonic,
                        config=self.config)

    def execution_deps(self) -> ExecutionDeps:
        def swaps(mode: str, address: str) -> Any:
            return LiveSwaps(address) if address in self.registry else None

        return ExecutionDeps(uow=self.uow, prices=self.prices, swaps=swaps,
                             write_cache=lambda touched: None, clock=self.clock,
                             rng=random.Random(1), max_open_positions=25,
                             submit_live=self.submitted.append)

    def agent(self, name: str = "live-one", config: dict[str, Any] | None = None,
              sol: str = "10") -> uuid.UUID:
        agent_id = create_agent(self.uow(), self.clock, name=name, mode="live",
                                config=FIXED if config is None else config)
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
        [outcome] = execute_signal(signal_id, [agent_id], self.execution_deps())
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
