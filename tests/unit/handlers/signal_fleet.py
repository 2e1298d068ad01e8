"""A fleet of agents on the in-memory fakes, for the signal use-case tests: agents with a
wallet and SOL, stored signals, and the rows a test asserts on."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal as D
from typing import Any

from domain.agents import Agent
from domain.ledger import SOL_MINT
from domain.ports import PriceQuote
from domain.positions import Position
from domain.records import Execution
from domain.signals import Signal
from domain.wallets import Wallet
from tests.fakes import FakeUnitOfWork, RecordingQueue, Store, make_deps
from tests.unit.domain.helpers import T0, USER_ID, position
from workers.handlers.shared.deps import Deps

NOW = T0 + timedelta(minutes=5)
TOKEN = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"
PRICE = D("0.001")
# Sizes without the random draw: a 5 SOL wallet opens 1.0 SOL (the medium range's max).
FIXED: dict[str, Any] = {"positionCalculator": {"randomization": {"enabled": False}}}


def quote(price: D = PRICE) -> dict[str, PriceQuote]:
    return {TOKEN: PriceQuote(TOKEN, price, NOW, "static")}


class CommitsAtEnqueue(RecordingQueue):
    """Records, with each enqueue, how many commits the store had seen by then (after-commit
    hooks see the commit that carried them)."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store, self.commits_seen = store, list[int]()

    def fan_out(self, signal_ids: Any) -> None:
        self.commits_seen.append(self.store.commits)
        super().fan_out(signal_ids)

    def run_live(self, submission_id: uuid.UUID) -> None:
        self.commits_seen.append(self.store.commits)
        super().run_live(submission_id)


@dataclass
class Fleet:
    store: Store = field(default_factory=lambda: Store({}, []))
    deps: Deps = field(init=False)
    agents: list[uuid.UUID] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.deps = make_deps(self.store, now=NOW, feed=quote())

    @property
    def queue(self) -> RecordingQueue:
        assert isinstance(self.deps.queue, RecordingQueue)
        return self.deps.queue

    def use(self, **changes: Any) -> Fleet:
        self.deps = dataclasses.replace(self.deps, **changes)
        return self

    def agent(self, sol: D = D(5), config: dict[str, Any] | None = None, *,
              mode: str = "simulation", wallet: bool = True,
              **fields: Any) -> uuid.UUID:
        """An agent with a wallet of its mode holding ``sol`` SOL (config FIXED by default)."""
        agent_id = uuid.UUID(int=0xA000 + len(self.agents))
        fields.setdefault("user_id", USER_ID)
        agent = Agent(id=agent_id, name=f"agent-{len(self.agents)}", trading_mode=mode,
                      **fields)
        self.store.agents[agent_id] = (agent, FIXED if config is None else config)
        if wallet:
            address = self.wallet_of(agent_id, mode)
            self.store.wallets.append(Wallet(address, agent_id, mode))
            if sol:
                self.store.balances[(address, SOL_MINT)] = sol
        self.agents.append(agent_id)
        return agent_id

    @staticmethod
    def wallet_of(agent_id: uuid.UUID, mode: str = "simulation") -> str:
        return f"{mode[:3]}_{agent_id.int:x}"

    def holding(self, agent_id: uuid.UUID, token: str = TOKEN, **changes: Any) -> Position:
        """An open position of 1000 tokens bought at 0.001 (1.0 SOL) at T0."""
        p = position(id=uuid.uuid4(), agent_id=agent_id, wallet_address=self.wallet_of(agent_id),
                     token_address=token, purchase_transaction_id=uuid.uuid4(), **changes)
        self.store.positions[p.id] = p
        self.store.balances[(p.wallet_address, token)] = p.holding
        return p

    def signal(self, signal_type: str = "buy", strength: int = 50, *,
               dispatched_to: int | None = None, targets: Sequence[uuid.UUID] = (),
               **fields: Any) -> int:
        """A stored signal; ``dispatched_to``: as a fan-out to that many agents leaves it,
        ``targets`` being the agents it found eligible."""
        with FakeUnitOfWork(self.store) as uow:
            signal_id, _ = uow.signals.add(Signal(TOKEN, signal_type, strength, **fields), T0)
            if dispatched_to is not None:
                uow.signals.mark_dispatched(signal_id, dispatched_to, T0, targets)
            uow.commit()
        return signal_id

    def executions(self, signal_id: int) -> dict[uuid.UUID, tuple[str, str, str | None]]:
        return {e.agent_id: (e.status, e.action, e.reason)
                for e in self._executions(signal_id)}

    def _executions(self, signal_id: int) -> list[Execution]:
        return [e for (s, _), e in self.store.executions.items() if s == signal_id]

    def sol(self, agent_id: uuid.UUID) -> D:
        return self.store.balances.get((self.wallet_of(agent_id), SOL_MINT), D(0))

    def status(self, signal_id: int) -> str:
        return self.store.signals[signal_id].status
