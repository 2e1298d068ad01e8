"""Signal execution on the in-memory fakes (docs/rules.md §3–§6, §10, §12): what one chunk of
agents does with a stored signal, asserted on the rows it leaves."""

from __future__ import annotations

import uuid
from decimal import Decimal as D

import pytest

from domain.ledger import SOL_MINT
from domain.submissions import INTENT, OPEN
from tests.fakes import FakePriceFeed, FakeSwaps, KeysOnlyVenue
from tests.unit.domain.helpers import TOKEN_B
from tests.unit.handlers.signal_fleet import FIXED, TOKEN, CommitsAtEnqueue, Fleet, quote
from workers.handlers.shared.deps import Policy
from workers.handlers.signals.execute import execute_signal

FEE = FakeSwaps.fee


def test_an_entry_opens_a_position_and_records_the_trade() -> None:
    f = Fleet()
    agent = f.agent(D(5))
    sid = f.signal(dispatched_to=1)
    execute_signal(sid, [agent], f.deps)
    [p] = f.store.positions.values()
    [tx] = f.store.transactions
    assert (p.agent_id, p.token_address, p.holding) == (agent, TOKEN, D(1000))
    assert p.total_invested_sol == D("1.0") + FEE  # the cost basis carries the fees
    assert (tx.input_amount, tx.output_amount, tx.signal_id) == (D("1.0"), D(1000), sid)
    assert f.sol(agent) == D(5) - D("1.0") - FEE
    assert f.store.balances[(f.wallet_of(agent), TOKEN)] == D(1000)
    assert f.executions(sid) == {agent: ("EXECUTED", "open", None)}
    assert f.store.executions[(sid, agent)].transaction_id == tx.id
    assert f.status(sid) == "processed"


def test_a_repeat_signal_at_a_dip_buys_more_into_the_position() -> None:
    f = Fleet()
    agent = f.agent(D(5), {**FIXED, "dca": {"enabled": True, "mode": "moderate"}})
    held = f.holding(agent)
    f.use(prices=FakePriceFeed(quote(D("0.0008"))))  # −20 %: the first moderate level
    sid = f.signal()
    execute_signal(sid, [agent], f.deps)
    [p] = f.store.positions.values()
    # 75 % of the holding's value at 0.0008 (0.8 SOL) buys 750 more tokens.
    assert (p.id, p.dca_count, p.holding) == (held.id, 1, D(1750))
    assert p.total_invested_sol == D("1.6") + FEE  # 1.0 held + 0.6 bought, with its fee
    assert f.sol(agent) == D(5) - D("0.6") - FEE
    assert f.executions(sid) == {agent: ("EXECUTED", "dca", None)}
    assert [t.is_dca for t in f.store.transactions] == [True]


def _skip_case(reason: str, f: Fleet) -> uuid.UUID:
    """Set up ``f`` so that its one agent skips with ``reason``; returns the agent id."""
    if reason == "wallet_not_found":
        return f.agent(wallet=False)
    if reason == "wallet_not_loaded":  # a live wallet whose key this process lacks
        return f.agent(mode="live")
    if reason == "price_unavailable":
        f.use(prices=FakePriceFeed({}))
        return f.agent()
    if reason == "position_exists":  # DCA is off by default
        agent = f.agent()
        f.holding(agent)
        return agent
    if reason == "insufficient_balance":
        return f.agent(D(0))
    if reason == "below_minimum_balance":  # under minimumAgentBalance (0.5 SOL)
        return f.agent(D("0.3"))
    if reason == "max_positions":
        f.use(policy=Policy(max_open_positions=1))
        agent = f.agent()
        f.holding(agent, TOKEN_B)
        return agent
    assert reason == "price_impact_too_high"  # 50 % impact at every retry size, 10 % allowed
    f.use(paper=FakeSwaps(impact=D("0.5")))
    return f.agent(config={**FIXED, "purchaseLimits": {"maxPriceImpact": "0.1"}})


@pytest.mark.parametrize("reason", [
    "wallet_not_found", "wallet_not_loaded", "price_unavailable", "position_exists",
    "insufficient_balance", "below_minimum_balance", "max_positions", "price_impact_too_high"])
def test_each_skip_reason_is_recorded_and_changes_no_money(reason: str) -> None:
    f = Fleet()
    agent = _skip_case(reason, f)
    before = (dict(f.store.positions), dict(f.store.balances))
    sid = f.signal(dispatched_to=1)
    execute_signal(sid, [agent], f.deps)
    assert f.executions(sid) == {agent: ("SKIPPED", "none", reason)}
    assert (f.store.positions, f.store.balances) == before
    assert f.store.transactions == [] and f.store.submissions == []
    assert f.status(sid) == "processed"


def test_an_exit_signal_closes_the_position() -> None:
    f = Fleet()
    agent = f.agent(D(5))
    f.holding(agent)
    f.use(prices=FakePriceFeed(quote(D("0.002"))))
    sid = f.signal("sell")
    execute_signal(sid, [agent], f.deps)
    assert f.store.positions == {}
    [closed] = f.store.history
    assert (closed.close_reason, closed.signal_id) == ("signal", sid)
    assert closed.profit_loss_sol == D("2.0") - FEE - D("1.0")
    assert f.sol(agent) == D(5) + D("2.0") - FEE
    assert f.store.balances[(f.wallet_of(agent), TOKEN)] == D(0)
    assert f.executions(sid) == {agent: ("EXECUTED", "close", None)}


def test_an_exit_without_a_position_skips() -> None:
    f = Fleet()
    agent = f.agent()
    sid = f.signal("sell")
    execute_signal(sid, [agent], f.deps)
    assert f.executions(sid) == {agent: ("SKIPPED", "none", "no_position")}
    assert f.store.transactions == [] and f.store.history == []


def test_a_duplicate_delivery_does_nothing() -> None:
    f = Fleet()
    agents = [f.agent(), f.agent()]
    sid = f.signal()
    execute_signal(sid, agents, f.deps)
    rows = (dict(f.store.executions), list(f.store.transactions), dict(f.store.positions),
            dict(f.store.balances))
    outcomes = execute_signal(sid, agents, f.deps)
    assert {o.status for o in outcomes} == {"duplicate"}
    assert (f.store.executions, f.store.transactions, f.store.positions,
            f.store.balances) == rows
    assert len(f.store.positions) == 2


def test_a_live_agent_gets_a_pending_execution_and_an_intent_sent_after_commit() -> None:
    f = Fleet()
    f.use(queue=CommitsAtEnqueue(f.store))
    agent = f.agent(D(5), mode="live")
    f.use(venue=KeysOnlyVenue([f.wallet_of(agent, "live")]))
    sid = f.signal()
    commits = f.store.commits
    execute_signal(sid, [agent], f.deps)
    [intent] = f.store.submissions
    assert (intent.kind, intent.status, intent.amount_in, intent.signal_id) == (
        OPEN, INTENT, D("1.0"), sid)
    assert f.executions(sid) == {agent: ("PENDING", "open", None)}
    assert f.store.transactions == [] and f.store.positions == {}
    assert f.store.balances[(f.wallet_of(agent, "live"), SOL_MINT)] == D(5)
    queue = f.deps.queue
    assert isinstance(queue, CommitsAtEnqueue)
    # handed over once, by the hook of the transaction that committed the intent
    assert queue.live == [intent.id] and queue.commits_seen == [commits + 1]


def test_an_invalid_stored_config_fails_that_agent_only() -> None:
    f = Fleet()
    good = f.agent()
    bad = f.agent(config={"dca": {"mode": "sideways"}})
    sid = f.signal(dispatched_to=2)
    execute_signal(sid, [good, bad], f.deps)
    assert f.executions(sid) == {good: ("EXECUTED", "open", None),
                                 bad: ("FAILED", "none", "invalid_config")}
    assert [p.agent_id for p in f.store.positions.values()] == [good]
    assert f.sol(bad) == D(5)
    assert f.status(sid) == "processed"


def test_a_live_agent_with_a_swap_in_flight_waits_and_records_nothing() -> None:
    f = Fleet()
    agent = f.agent(D(5), mode="live")
    f.use(venue=KeysOnlyVenue([f.wallet_of(agent, "live")]))
    first = f.signal(idempotency_key="first", dispatched_to=1)
    execute_signal(first, [agent], f.deps)
    second = f.signal(idempotency_key="second", dispatched_to=1)
    [outcome] = execute_signal(second, [agent], f.deps)
    assert (outcome.status, outcome.reason) == ("WAIT", "swap_in_flight")
    assert f.executions(second) == {} and len(f.store.submissions) == 1
    assert f.queue.executes[-1] == (second, [agent]) and f.queue.attempts[-1] == (1, 0.5)
    assert (f.status(first), f.status(second)) == ("dispatched", "dispatched")
