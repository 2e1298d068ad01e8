"""The operator's manual buy on the in-memory fakes (docs/rules.md §3 "Manual buy"): a
signal for one agent with the operator's size, executed on the signal path; every refusal
names its field and writes nothing."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pytest

from domain.channels import MANUAL
from domain.errors import InvalidInput
from domain.ledger import SOL_MINT
from domain.submissions import INTENT, OPEN
from domain.vocabulary import Vocabulary
from tests.fakes import FakePriceFeed, FakeSwaps, KeysOnlyVenue
from tests.unit.domain.helpers import TOKEN_B
from tests.unit.handlers.signal_fleet import FIXED, TOKEN, CommitsAtEnqueue, Fleet, quote
from workers.handlers.operators.manual_buy import (
    BuyOrder,
    Refused,
    entry_type,
    manual_buy,
)
from workers.handlers.shared.deps import Policy
from workers.handlers.signals.execute import execute_signal
from workers.handlers.signals.fan_out import fan_out

FEE = FakeSwaps.fee


def buy(f: Fleet, agent: uuid.UUID, sol: object = "2", **fields: Any) -> Any:
    return manual_buy(BuyOrder(agent, fields.pop("token", TOKEN), sol, **fields), f.deps)


def test_a_manual_buy_opens_for_that_agent_alone_on_the_signal_path() -> None:
    f = Fleet()
    mine, other = f.agent(D(5)), f.agent(D(5))
    bought = buy(f, mine, "2", reason="conviction", symbol="BONK")
    [p] = f.store.positions.values()
    [tx] = f.store.transactions
    assert (bought.status, bought.action, bought.transaction_id) == ("EXECUTED", "open", tx.id)
    assert (p.agent_id, p.token_symbol, p.holding) == (mine, "BONK", D(2000))
    assert (tx.input_amount, tx.signal_id, tx.is_dca) == (D(2), bought.signal_id, False)
    assert f.sol(mine) == bought.sol_balance == D(5) - D(2) - FEE
    assert f.sol(other) == D(5)
    assert f.executions(bought.signal_id) == {mine: ("EXECUTED", "open", None)}
    row = f.store.signals[bought.signal_id]
    assert (row.namespace, row.status, row.signal.agent_id, row.signal.amount_sol) == (
        MANUAL, "processed", mine, D(2))
    assert (row.signal.activation_reason, row.signal.source, row.signal.signal_type) == (
        "conviction", "operator", "buy")


def test_without_an_amount_the_agents_rules_size_it() -> None:
    f = Fleet()
    agent = f.agent(D(5))  # FIXED: a 5 SOL wallet opens 1.0 SOL
    assert buy(f, agent, None).status == "EXECUTED"
    [tx] = f.store.transactions
    assert tx.input_amount == D("1.0")


def test_into_an_open_position_it_is_an_added_buy_whatever_the_dca_rules() -> None:
    f = Fleet()
    agent = f.agent(D(5))  # DCA is disabled by default
    held = f.holding(agent)
    bought = buy(f, agent, "0.5")
    [p] = f.store.positions.values()
    assert (bought.action, p.id, p.dca_count, p.holding) == ("dca", held.id, 1, D(1500))
    assert p.total_invested_sol == D("1.5") + FEE
    assert [t.is_dca for t in f.store.transactions] == [True]


def test_the_signal_filters_of_the_config_do_not_apply() -> None:
    """The operator chose the token: no strength, type, token-list or metric rule stops it."""
    f = Fleet()
    agent = f.agent(D(5), {**FIXED, "signals": {
        "minScore": 100, "allowedSignalTypes": ["momentum"], "tokenFilterMode": "blacklist",
        "tokenList": [TOKEN], "liquidityMin": 1000}})
    assert buy(f, agent).status == "EXECUTED"


def test_repeating_the_execution_or_the_fan_out_buys_nothing_more() -> None:
    f = Fleet()
    mine, other = f.agent(D(5)), f.agent(D(5))
    sid = buy(f, mine).signal_id
    rows = (dict(f.store.executions), list(f.store.transactions), dict(f.store.balances))
    [outcome] = execute_signal(sid, [mine], f.deps)  # a redelivered chunk
    assert outcome.status == "duplicate"
    f.store.signals[sid] = dataclasses.replace(f.store.signals[sid], status="dispatched")
    assert fan_out(sid, f.deps) == 0  # the outbox sweeper: nobody left, the other never
    assert (dict(f.store.executions), list(f.store.transactions),
            dict(f.store.balances)) == rows
    assert f.sol(other) == D(5)


def _refusal_case(case: str, f: Fleet) -> tuple[uuid.UUID, dict[str, Any]]:
    """An agent and the order's fields for which ``manual_buy`` refuses with ``case``."""
    order: dict[str, Any] = {}
    if case == "unknown_agent":
        f.agent()
        return uuid.uuid4(), order
    if case == "automation_paused":
        return f.agent(automated_trading_simulation=False), order
    if case == "agent_archived":
        return f.agent(archived_at=datetime(2025, 1, 1, tzinfo=UTC)), order
    if case == "price_unavailable":
        f.use(prices=FakePriceFeed({}))
    elif case == "max_positions":
        f.use(policy=Policy(max_open_positions=1))
        agent = f.agent()
        f.holding(agent, TOKEN_B)
        return agent, order
    elif case == "wallet_not_found":
        return f.agent(wallet=False), order
    elif case == "wallet_not_loaded":
        return f.agent(mode="live"), order
    elif case == "below_minimum_balance":  # no --sol: the rules' checks apply
        return f.agent(D("0.3")), {"sol": None}
    elif case == "price_impact_too_high":
        f.use(paper=FakeSwaps(impact=D("0.5")))
        return f.agent(config={**FIXED, "purchaseLimits": {"maxPriceImpact": "0.1"}}), order
    else:
        order = {"bad_mint": {"token": "not-a-mint"}, "zero": {"sol": "0"},
                 "negative": {"sol": "-1"}, "not_a_number": {"sol": "abc"},
                 "nan": {"sol": "NaN"}, "too_precise": {"sol": "0.000000001"},
                 "long_reason": {"reason": "x" * 2001}}[case]
    return f.agent(), order


REFUSALS = {
    "unknown_agent": "agent: no agent", "automation_paused": "agent: agent agent-0 is paused",
    "agent_archived": "agent: agent agent-0 is archived",
    "price_unavailable": "token_mint: no price for", "max_positions": "token_mint: agent",
    "wallet_not_found": "agent: agent agent-0 has no simulation wallet",
    "wallet_not_loaded": "agent: the key of agent agent-0's live wallet is not loaded",
    "below_minimum_balance": "sol: only 0.3 SOL is available, below the agent's minimum",
    "price_impact_too_high": "sol: the price impact is over",
    "bad_mint": "token_mint: must be a base58 Solana public key",
    "zero": "sol: must be more than 0 SOL", "negative": "sol: must be more than 0 SOL",
    "not_a_number": "sol: must be a decimal number", "nan": "sol: must be a decimal number",
    "too_precise": "sol: has more than 8 decimals",
    "long_reason": "reason: must be at most 2000 characters",
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_refused_buy_names_the_reason_and_changes_nothing(case: str) -> None:
    f = Fleet()
    agent, fields = _refusal_case(case, f)
    before = f.store.copy_rows()
    with pytest.raises(InvalidInput) as refused:
        buy(f, agent, fields.pop("sol", "2"), **fields)
    assert str(refused.value).startswith(REFUSALS[case]), str(refused.value)
    assert "\n" not in str(refused.value)
    if isinstance(refused.value, Refused) and case != "unknown_agent":
        assert refused.value.code == case
    assert f.store.copy_rows() == before  # no signal, execution, trade or balance change
    assert f.queue.fan_outs == [] and f.queue.live == []


def test_a_buy_over_the_balance_names_what_is_available() -> None:
    f = Fleet()
    agent = f.agent(D("1.5"))
    before = f.store.copy_rows()
    with pytest.raises(Refused) as refused:
        buy(f, agent, "1.5")  # 1.5 SOL plus the fee is more than 1.5
    assert str(refused.value) == "sol: only 1.5 SOL is available (asked 1.5 SOL plus fees)"
    assert refused.value.code == "insufficient_balance"
    with pytest.raises(Refused):
        buy(f, agent, "7")
    assert f.store.copy_rows() == before
    assert buy(f, agent, D("1.5") - FEE).status == "EXECUTED"  # exactly what it holds
    assert f.sol(agent) == D(0)


def test_a_live_agents_buy_is_a_live_intent_sent_after_the_commit() -> None:
    f = Fleet()
    f.use(queue=CommitsAtEnqueue(f.store))
    agent = f.agent(D(5), mode="live")
    f.use(venue=KeysOnlyVenue([f.wallet_of(agent, "live")]))
    bought = buy(f, agent, "2")
    [intent] = f.store.submissions
    assert (intent.kind, intent.status, intent.amount_in, intent.signal_id) == (
        OPEN, INTENT, D(2), bought.signal_id)
    assert (bought.status, bought.action) == ("PENDING", "open")
    assert f.store.transactions == [] and f.store.positions == {}
    assert f.store.balances[(f.wallet_of(agent, "live"), SOL_MINT)] == D(5)
    assert f.deps.queue.live == [intent.id]
    with pytest.raises(Refused) as refused:  # one live swap at a time per agent
        buy(f, agent, "1")
    assert refused.value.code == "swap_in_progress"
    with pytest.raises(Refused) as refused:  # a live buy keeps a margin for its fees
        f.store.submissions.clear()
        buy(f, agent, "5")
    assert refused.value.code == "insufficient_balance"


def test_the_stored_type_is_an_entry_of_the_deployments_vocabulary() -> None:
    assert entry_type(Vocabulary(entry=("long", "buy"), exit=("sell",))) == "long"
    assert entry_type(Vocabulary(entry=(), exit=("sell",), any_entry=True)) == "buy"
    assert entry_type(Vocabulary(entry=(), exit=("buy",), any_entry=True)) == "manual_buy"
    assert entry_type(Vocabulary(entry=("long",), exit=("manual_buy",))) == "long"
    f = Fleet().use(vocabulary=Vocabulary(entry=("long",), exit=("sell",)))
    agent = f.agent(D(5))
    f.deps = dataclasses.replace(f.deps, prices=FakePriceFeed(quote()))
    sid = buy(f, agent).signal_id
    assert f.store.signals[sid].signal.signal_type == "long"
