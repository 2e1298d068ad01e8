"""An agent archived or paused after the fan-out chose it is skipped at execution, under its
lock (docs/rules.md §11): nothing is bought or sold."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D
from typing import Any

import pytest

from domain.agents import Agent
from domain.config import TradingConfig
from domain.ledger import SOL_MINT
from domain.ports import PriceQuote
from domain.signals import Signal
from tests.fakes import FakeUnitOfWork, Store, make_deps
from tests.unit.domain.helpers import AGENT_ID, T0, USER_ID
from tests.unit.handlers.test_sweep import TOKEN, WALLET
from workers.handlers.shared.trades import Touched
from workers.handlers.signals.agent import Turn, take_turn

AGENT = Agent(id=AGENT_ID, user_id=USER_ID, name="agent")


@pytest.mark.parametrize(("changes", "reason"), [
    ({"archived_at": T0}, "agent_archived"),
    ({"automated_trading_simulation": False}, "automation_paused"),
])
def test_a_turn_rechecks_archive_and_pause(changes: dict[str, Any], reason: str) -> None:
    agent = dataclasses.replace(AGENT, **changes)
    store = Store(agents={AGENT_ID: (agent, None)}, wallets=[WALLET])
    store.balances[(WALLET.wallet_address, SOL_MINT)] = D(10)
    deps = make_deps(store, now=T0)
    signal = Signal(token_address=TOKEN, signal_type="buy", signal_strength=50)
    quote = PriceQuote(TOKEN, D("0.001"), T0, "static")
    with FakeUnitOfWork(store) as uow:
        outcome = take_turn(Turn(uow, deps, 1, signal, quote, T0, Touched()), agent,
                            TradingConfig.from_dict({}))
    assert (outcome.status, outcome.reason) == ("SKIPPED", reason)
    assert store.transactions == [] and store.positions == {}
