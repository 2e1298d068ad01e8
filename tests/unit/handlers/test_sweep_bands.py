"""The sweep with stored quiet bands (domain/bands.py) on the fakes: a tick inside every
band evaluates and writes nothing, and over any path of prices and times the sweep that
skips what its bands rule out trades, ratchets and reports exactly as the sweep that
evaluates every position (hypothesis, the two on identical stores)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal as D
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain import bands
from domain.agents import Agent
from domain.bands import Candidate
from domain.ledger import SOL_MINT
from domain.ports import PriceQuote
from domain.wallets import Wallet
from tests.fake_positions import FakePositions
from tests.fake_store import Store
from tests.fakes import FakeUnitOfWork, make_deps
from tests.unit.domain.helpers import AGENT_ID, T0, USER_ID, position
from tests.unit.domain.test_bands import positions
from workers.handlers.positions.sweep import SweepReport, sweep

TOKEN = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"
WALLET = Wallet("sim_wallet", AGENT_ID, "simulation")


class EveryPosition(FakePositions):
    """The sweep before bands: every open position of the tokens is evaluated."""

    def sweep_candidates(self, prices: Any, now: datetime, basis: int) -> list[Candidate]:
        return [Candidate(p, 0, False) for p in self.list_open(token_addresses=prices)]


class NoBandUnitOfWork(FakeUnitOfWork):
    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.positions = EveryPosition(store)


def make_store(config: dict[str, Any] | None, held: Any, *, automation: bool = True,
               exits_paused: bool = False) -> Store:
    agent = Agent(id=AGENT_ID, user_id=USER_ID, name="agent", trading_mode="simulation",
                  automated_trading_simulation=automation, automated_trading_live=True,
                  exits_paused_simulation=exits_paused)
    s = Store(agents={AGENT_ID: (agent, config)}, wallets=[WALLET])
    p = dataclasses.replace(held, token_address=TOKEN)
    s.positions[p.id] = p
    s.balances[(WALLET.wallet_address, SOL_MINT)] = D(5)
    s.balances[(WALLET.wallet_address, TOKEN)] = p.holding
    return s


def tick(s: Store, price: D, now: datetime, *, skip: bool = True) -> SweepReport:
    cached = {TOKEN: PriceQuote(TOKEN, price, now, "static")}
    uow = (lambda: FakeUnitOfWork(s)) if skip else (lambda: NoBandUnitOfWork(s))
    return sweep([TOKEN], make_deps(s, now=now, cached=cached, uow=uow))


def candidates(s: Store, price: D, now: datetime) -> Sequence[Candidate]:
    with FakeUnitOfWork(s) as uow:
        return uow.positions.sweep_candidates({TOKEN: price}, now, bands.basis())


def test_a_quiet_tick_evaluates_nothing_until_the_price_the_time_or_the_config_moves() -> None:
    s = make_store(None, position(current_stop_loss_percentage=D(-32), peak_price=D("0.001")))
    now = T0 + timedelta(minutes=1)
    assert [c.band_valid for c in candidates(s, D("0.001"), now)] == [False]  # no band yet
    tick(s, D("0.001"), now)
    assert candidates(s, D("0.001"), now) == []
    assert [c.band_valid for c in candidates(s, D("0.00068"), now)] == [True]  # the stop
    agent, _ = s.agents[AGENT_ID]
    s.agents[AGENT_ID] = (agent, {"stopLoss": {"defaultPercentage": -5}})
    assert [c.band_valid for c in candidates(s, D("0.001"), now)] == [False]


def stored_configs() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({
        "stopLoss": st.fixed_dictionaries({
            "enabled": st.booleans(),
            "mode": st.sampled_from(["fixed", "zones", "exponential"]),
            "defaultPercentage": st.integers(-60, -1)}),
        "takeProfit": st.fixed_dictionaries({
            "enabled": st.booleans(),
            "mode": st.sampled_from(["aggressive", "moderate", "conservative"])}),
        "dca": st.fixed_dictionaries({
            "enabled": st.booleans(),
            "mode": st.sampled_from(["conservative", "moderate", "aggressive"]),
            "maxDCACount": st.integers(1, 4), "cooldownSeconds": st.integers(10, 3600)}),
        "staleTrade": st.integers(-50, 50).flatmap(lambda low: st.fixed_dictionaries({
            "enabled": st.booleans(), "minHoldTimeMinutes": st.integers(1, 240),
            "minProfitPercent": st.just(low),
            "maxProfitPercent": st.integers(low, low + 50)}))})


steps = st.lists(st.tuples(st.sampled_from(["0.5", "0.8", "0.95", "0.999", "1", "1", "1.001",
                                            "1.05", "1.2", "1.6"]).map(D),
                           st.integers(0, 7200)), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(stored_configs(), positions(), steps, st.booleans(), st.booleans())
def test_skipping_by_band_changes_no_outcome(config: dict[str, Any], held: Any,
                                             path: list[tuple[D, int]], automation: bool,
                                             exits_paused: bool) -> None:
    skipping = make_store(config, held, automation=automation, exits_paused=exits_paused)
    every = make_store(config, held, automation=automation, exits_paused=exits_paused)
    price, now = held.purchase_price, T0
    for factor, seconds in path:
        price, now = max(price * factor, D("1e-12")), now + timedelta(seconds=seconds)
        a, b = tick(skipping, price, now), tick(every, price, now, skip=False)
        assert (a.actions, a.stops_updated) == (b.actions, b.stops_updated)
        assert a.skipped_positions == b.skipped_positions
        assert skipping.positions == every.positions
        assert skipping.balances == every.balances
        assert [h.close_reason for h in skipping.history] == \
            [h.close_reason for h in every.history]
