"""A paused agent in the sweep (docs/rules.md §11): no DCA while its mode's automation is
paused; its automated exits keep running unless they are paused too, and every position not
acted on for that is reported skipped with the reason."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D
from typing import Any

import pytest

from domain.agents import Agent
from tests.fakes import FakeUnitOfWork, Store
from tests.unit.domain.helpers import AGENT_ID
from tests.unit.handlers.test_sweep import TOKEN, WALLET, deps, only, quote, store
from workers.handlers.positions.sweep import sweep

DCA_ON = {"dca": {"enabled": True, "mode": "moderate"}}


def paused(s: Store, **flags: bool) -> Store:
    agent, config = s.agents[AGENT_ID]
    s.agents[AGENT_ID] = (dataclasses.replace(agent, **flags), config)
    return s


def test_a_paused_mode_makes_no_dca_and_reports_why() -> None:
    s = paused(store(DCA_ON), automated_trading_simulation=False)
    report = sweep([TOKEN], deps(s, quote("0.0008")))
    assert report.actions == {} and only(s).dca_count == 0 and s.transactions == []
    assert report.skipped_positions == {only(s).id: "automation_paused"}


def test_pausing_the_other_mode_changes_nothing_here() -> None:
    s = paused(store(DCA_ON), automated_trading_live=False, exits_paused_live=True)
    assert sweep([TOKEN], deps(s, quote("0.0008"))).actions == {"dca": 1}


def test_the_stop_loss_still_runs_while_only_entries_are_paused() -> None:
    s = paused(store(), automated_trading_simulation=False)
    report = sweep([TOKEN], deps(s, quote("0.0005")))
    assert report.actions == {"stop_loss": 1} and s.positions == {}
    assert report.skipped_positions == {}


@pytest.mark.parametrize(("config", "price"), [
    (None, "0.0005"),  # stop loss
    ({"takeProfit": {"enabled": True, "mode": "moderate"}}, "0.0016"),  # take profit
])
def test_paused_exits_sell_nothing_and_report_why(config: dict[str, Any] | None,
                                                  price: str) -> None:
    s = paused(store(config), automated_trading_simulation=False, exits_paused_simulation=True)
    before = only(s)
    report = sweep([TOKEN], deps(s, quote(price)))
    assert report.actions == {} and s.transactions == [] and s.history == []
    assert only(s).holding == before.holding
    assert report.skipped_positions == {before.id: "exits_paused"}


def test_a_pause_between_the_read_and_the_lock_is_honoured() -> None:
    s = store()
    opened = 0

    def uow() -> FakeUnitOfWork:  # the operator pauses exits after the sweep's first read
        nonlocal opened
        opened += 1
        if opened == 2:
            paused(s, exits_paused_simulation=True)
        return FakeUnitOfWork(s)

    report = sweep([TOKEN], deps(s, quote("0.0005"), uow))
    assert report.actions == {} and len(s.positions) == 1 and s.history == []


def test_a_position_trades_in_its_own_wallets_mode() -> None:
    """The agent switched to live; its simulation position still follows simulation's flags."""
    s = store(DCA_ON)
    s.wallets.append(dataclasses.replace(WALLET, wallet_address="live_wallet", wallet_type="live"))
    agent, config = s.agents[AGENT_ID]
    s.agents[AGENT_ID] = (Agent(**{**{f.name: getattr(agent, f.name)
                                     for f in dataclasses.fields(agent)},
                                  "trading_mode": "live", "automated_trading_live": False}),
                          config)
    assert sweep([TOKEN], deps(s, quote("0.0008"))).actions == {"dca": 1}
    assert only(s).dca_count == 1 and only(s).purchase_amount > D(1000)
