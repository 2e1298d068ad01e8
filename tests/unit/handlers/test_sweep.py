"""The sweep and price-refresh handlers on in-memory fakes (docs/rules.md §7–§10)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from domain.agents import Agent
from domain.ledger import SOL_MINT
from domain.ports import PriceQuote
from domain.wallets import Wallet
from tests.fakes import FakeUnitOfWork, RecordingQueue, Store, make_deps
from tests.unit.domain.helpers import AGENT_ID, T0, TOKEN_B, USER_ID, position
from workers.handlers.positions.prices import refresh_prices
from workers.handlers.positions.sweep import sweep, sweep_all
from workers.handlers.shared.deps import Deps, Policy

NOW = T0 + timedelta(minutes=5)
TOKEN = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"
WALLET = Wallet("sim_wallet", AGENT_ID, "simulation")


class Clock:
    def now(self) -> Any:
        return NOW


def store(config: dict[str, Any] | None = None, **changes: Any) -> Store:
    agent = Agent(id=AGENT_ID, user_id=USER_ID, name="agent", trading_mode="simulation",
                  automated_trading_simulation=True, automated_trading_live=True)
    s = Store(agents={AGENT_ID: (agent, config)}, wallets=[WALLET])
    p = position(token_address=TOKEN, current_stop_loss_percentage=D(-32), peak_price=D("0.001"),
                 **changes)
    s.positions[p.id] = p
    s.balances[(WALLET.wallet_address, SOL_MINT)] = D(5)
    s.balances[(WALLET.wallet_address, TOKEN)] = p.holding
    return s


def deps(s: Store, cached: dict[str, PriceQuote], uow: Any = None,
         keys: tuple[str, ...] = ()) -> Deps:
    return make_deps(s, now=NOW, cached=cached, uow=uow, keys=keys)


def quote(price: str, age: int = 0, token: str = TOKEN) -> dict[str, PriceQuote]:
    return {token: PriceQuote(token, D(price), NOW - timedelta(seconds=age), "static")}


def only(s: Store) -> Any:
    [p] = s.positions.values()
    return p


@pytest.mark.parametrize(("cached", "acts"), [
    (quote("0.0015", age=30), True), (quote("0.0015", age=31), False), ({}, False)])
def test_only_a_fresh_price_is_used(cached: dict[str, PriceQuote], acts: bool) -> None:
    s = store()
    report = sweep([TOKEN], deps(s, cached))
    assert (only(s).peak_price == D("0.0015")) is acts
    assert report.skipped_tokens == ([] if acts else [TOKEN])


def test_the_stop_ratchets_up_in_a_batch_then_triggers_at_the_stop_price() -> None:
    s = store()
    assert sweep([TOKEN], deps(s, quote("0.0015"))).stops_updated == 1
    assert (only(s).peak_price, only(s).current_stop_loss_percentage) == (D("0.0015"), D(40))
    assert sweep([TOKEN], deps(s, quote("0.00141"))).stops_updated == 0  # nothing changed
    report = sweep([TOKEN], deps(s, quote("0.0014")))
    assert report.actions == {"stop_loss": 1} and s.positions == {}
    [closed] = s.history
    assert closed.close_reason == "stop_loss"
    assert closed.profit_loss_sol == D("1.4") - D("0.000005") - D("1.0")


def test_take_profit_sells_its_share_once_at_the_same_price() -> None:
    s = store({"takeProfit": {"enabled": True, "mode": "moderate"}})
    sweep([TOKEN], deps(s, quote("0.0016")))
    sweep([TOKEN], deps(s, quote("0.0016")))  # a second sweep: the level is already hit
    held = only(s)
    assert (held.take_profit_levels_hit, held.remaining_amount) == (1, D(750))
    assert held.realized_profit_sol == D("0.149995")  # 0.4 − fee − 250/1000 × 1.0
    assert [(t.input_amount, t.is_take_profit) for t in s.transactions] == [(D(250), True)]


def test_a_position_closed_meanwhile_is_left_alone() -> None:
    s = store()
    opened = 0

    def uow() -> FakeUnitOfWork:  # the locked re-read comes after another sweep closed it
        nonlocal opened
        opened += 1
        if opened == 2:
            s.positions.clear()
        return FakeUnitOfWork(s)

    report = sweep([TOKEN], deps(s, quote("0.0005"), uow))
    assert report.actions == {} and s.transactions == [] and s.history == []


def test_a_dip_buys_more_at_the_dca_level() -> None:
    s = store({"dca": {"enabled": True, "mode": "moderate"}})
    report = sweep([TOKEN], deps(s, quote("0.0008")))
    assert report.actions == {"dca": 1}
    held = only(s)
    assert (held.dca_count, held.purchase_amount) == (1, D(1750))  # 0.6 SOL at 0.0008
    assert held.total_invested_sol == D("1.600005")
    assert s.balances[(WALLET.wallet_address, SOL_MINT)] == D("4.399995")


def test_a_live_position_without_a_loaded_wallet_is_not_traded() -> None:
    s = store()
    s.wallets[:] = [Wallet("sim_wallet", AGENT_ID, "live")]
    report = sweep([TOKEN], deps(s, quote("0.0005")))
    assert report.actions == {} and len(s.positions) == 1


def test_tokens_are_swept_in_chunks() -> None:
    s = store()
    other = position(id=uuid.uuid4(), token_address=TOKEN_B)
    s.positions[other.id] = other
    for size, batches in ((1, [[TOKEN], [TOKEN_B]]), (10, [[TOKEN, TOKEN_B]])):
        d = replace(deps(s, {}), policy=Policy(sweep_chunk_size=size))
        assert sweep_all(d) == len(batches)
        assert isinstance(d.queue, RecordingQueue) and d.queue.sweeps == batches


def test_refresh_stores_history_and_caches_after_commit() -> None:
    s = store()
    d = make_deps(s, now=NOW, feed=quote("0.002"))
    refreshed = refresh_prices(d)
    cached = list(d.cache.latest_prices([TOKEN]).values())
    assert refreshed == [TOKEN]
    assert [q.price_sol for q in s.prices] == [D("0.002")] == [q.price_sol for q in cached]
    assert s.commits == 1


def test_a_take_profit_that_leaves_nothing_closes_the_position() -> None:
    s = store({"takeProfit": {"enabled": True, "mode": "custom",
                              "levels": [{"targetPercent": 50, "sellPercent": 100}],
                              "moonBag": {"enabled": False}}})
    assert sweep([TOKEN], deps(s, quote("0.0016"))).actions == {"take_profit": 1}
    assert s.positions == {}
    [closed] = s.history
    assert (closed.close_reason, closed.profit_loss_sol) == ("take_profit", D("0.599995"))
    assert [(t.input_amount, t.is_take_profit) for t in s.transactions] == [(D(1000), True)]


def test_an_agent_whose_stored_config_no_longer_validates_is_skipped_the_rest_swept() -> None:
    from domain.errors import InvalidConfig
    from workers.handlers.positions.sweep import INVALID_CONFIG

    s = store()  # AGENT_ID: a valid (default) config, due to be stopped out at 0.0006
    bad_id = uuid.UUID(int=0xBAD)
    bad_wallet = Wallet("sim_bad", bad_id, "simulation")
    written_before_the_bound = {"staleTrade": {"minHoldTimeMinutes": 10**15}}
    s.agents[bad_id] = (Agent(id=bad_id, user_id=USER_ID, name="bad"), written_before_the_bound)
    s.wallets.append(bad_wallet)
    bad = position(id=uuid.UUID(int=7), agent_id=bad_id, wallet_address="sim_bad",
                   token_address=TOKEN, current_stop_loss_percentage=D(-32))
    s.positions[bad.id] = bad
    s.balances[("sim_bad", SOL_MINT)] = D(5)
    s.balances[("sim_bad", TOKEN)] = bad.holding

    report = sweep([TOKEN], deps(s, quote("0.0006")))

    assert report.actions == {"stop_loss": 1}
    assert list(s.positions) == [bad.id]  # the good agent's exited; the bad one's is untouched
    assert report.skipped_positions == {bad.id: INVALID_CONFIG}
    assert list(report.invalid_configs) == [bad_id]
    error = report.invalid_configs[bad_id]
    assert isinstance(error, InvalidConfig)
    assert [path for path, _ in error.errors] == ["staleTrade.minHoldTimeMinutes"]
