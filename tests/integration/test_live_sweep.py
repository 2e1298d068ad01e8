"""The sweep's and the operator's live actions on a real Solana runtime (docs/rules.md §11,
§12): take-profit partial sales with the moon bag, DCA on a dip, stop loss, stale trade and
manual close each record an intent that ``execute_live`` signs, sends and confirms (a
write-off sends nothing); the ledger, balances and positions then equal what
the chain holds, and the money invariants hold."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from domain.ports import PriceQuote
from persistence import models as m
from tests.fakes import FakeCache
from tests.integration.live_support import (
    FIXED,
    UNITS,
    Live,
    assert_chain_matches_ledger,
    close_chains,
    live,
)
from tests.invariants import assert_ledger_invariant, assert_money_conserved
from tests.live_fakes import MINT
from workers.handlers.live.record import record_landed
from workers.handlers.live.swaps import execute_live
from workers.handlers.positions.manual_close import close_position
from workers.handlers.positions.sweep import SweepReport, sweep
from workers.handlers.positions.write_off import write_off

__all__ = ["close_chains"]

@pytest.fixture
def lv(clean_db: Engine) -> Live:
    return live(clean_db)


def sweep_at(lv: Live, price: str) -> SweepReport:
    quote = PriceQuote(MINT, Decimal(price), lv.clock.now(), "test", None)
    return sweep([MINT], replace(lv.deps(), cache=FakeCache({MINT: quote})))


def run_last(lv: Live) -> str:
    return execute_live(lv.submitted[-1], lv.deps())


def opened(lv: Live, config: dict[str, Any]) -> uuid.UUID:
    """A live agent with ``config`` that bought 1,000 tokens for 1 SOL on the chain."""
    agent_id = lv.agent(config={**FIXED, **config})
    assert run_last_signal(lv, agent_id) == "confirmed"
    return agent_id


def run_last_signal(lv: Live, agent_id: uuid.UUID) -> str:
    outcome = lv.signal(agent_id)
    assert outcome.submission_id is not None
    return execute_live(outcome.submission_id, lv.deps())


def position(lv: Live) -> Any:
    [row] = lv.rows(m.AgentPosition)
    return row


def test_take_profit_partials_sell_live_and_keep_the_moon_bag(lv: Live) -> None:
    agent_id = opened(lv, {"takeProfit": {"enabled": True, "mode": "aggressive"},
                           "stopLoss": {"enabled": False}, "staleTrade": {"enabled": False}})
    lv.chain.lamports_per_unit = Decimal("1.3")
    assert sweep_at(lv, "0.0013").actions == {"live_sell": 1}  # +30 %: level 25 → 25 %
    assert sweep_at(lv, "0.0013").actions == {}  # in flight: nothing more
    assert position(lv).take_profit_levels_hit == 0  # nothing moves before the chain
    assert run_last(lv) == "confirmed"
    [sub] = [s for s in lv.rows(m.SwapSubmission) if s.kind == "sell"]
    with lv.uow() as uow:
        snapshot = replace(uow.submissions.get(sub.id), status="submitted")
    assert record_landed(snapshot, lv.deps()) is None  # a second resolver: applied once
    p = position(lv)
    assert (p.remaining_amount, p.take_profit_levels_hit) == (Decimal(750), 1)
    # partial PnL from the confirmed proceeds: 0.325 − fee − 250/1000 × 1.000015
    assert p.realized_profit_sol == Decimal("0.325") - Decimal("0.000015") - Decimal(
        "0.25000375")
    assert_chain_matches_ledger(lv, agent_id)
    lv.chain.lamports_per_unit = Decimal("2.1")
    assert sweep_at(lv, "0.0021").actions == {"live_sell": 1}  # +110 %: 50 and 100, moon
    assert run_last(lv) == "confirmed"
    p = position(lv)
    assert (p.remaining_amount, p.take_profit_levels_hit) == (Decimal(250), 3)
    assert p.moon_bag_activated and p.moon_bag_amount == Decimal(100)
    lv.chain.lamports_per_unit = Decimal("2.6")
    assert sweep_at(lv, "0.0026").actions == {"live_sell": 1}  # +160 %: the last level
    assert run_last(lv) == "confirmed"
    p = position(lv)
    assert (p.remaining_amount, p.take_profit_levels_hit) == (Decimal(100), 4)  # the moon bag
    sales = [t for t in lv.rows(m.AgentTransaction) if t.is_take_profit]
    assert [t.input_amount for t in sales] == [Decimal(250), Decimal(500), Decimal(150)]
    assert len(lv.chain.sent) == 4 and all(s.verified for s in lv.chain.sent)
    assert sweep_at(lv, "0.0030").actions == {}  # levels exhausted: the moon bag stays
    assert_chain_matches_ledger(lv, agent_id)


def test_a_live_dca_on_a_dip_buys_through_the_chain(lv: Live) -> None:
    agent_id = opened(lv, {"dca": {"enabled": True, "mode": "moderate"},
                           "stopLoss": {"enabled": False}})
    lv.chain.lamports_per_unit = Decimal("0.7")
    assert sweep_at(lv, "0.0007").actions == {"live_dca": 1}  # −30 %
    assert run_last(lv) == "confirmed"
    p = position(lv)
    assert p.dca_count == 1 and p.purchase_amount > Decimal(1000)
    [dca] = [t for t in lv.rows(m.AgentTransaction) if t.is_dca]
    assert dca.output_amount == p.purchase_amount - Decimal(1000)
    assert_chain_matches_ledger(lv, agent_id)


@pytest.mark.parametrize(("config", "price", "reason"), [
    ({}, "0.0005", "stop_loss"),
    ({"staleTrade": {"enabled": True, "minHoldTimeMinutes": 1}}, "0.00102", "stale_trade")])
def test_a_live_stop_loss_or_stale_trade_closes_on_the_chain(
        lv: Live, config: dict[str, Any], price: str, reason: str) -> None:
    agent_id = opened(lv, config)
    lv.clock.current = datetime.now(UTC).replace(year=lv.clock.current.year + 1)
    lv.chain.lamports_per_unit = Decimal(price) * 1000
    assert sweep_at(lv, price).actions == {f"live_{reason}": 1}
    assert run_last(lv) == "confirmed"
    [closed] = lv.rows(m.AgentHistoricalSwap)
    assert closed.close_reason == reason and lv.rows(m.AgentPosition) == []
    assert_chain_matches_ledger(lv, agent_id)


def test_a_live_manual_close_sells_through_the_chain(lv: Live) -> None:
    agent_id = opened(lv, {})
    lv.chain.lamports_per_unit = Decimal("1.1")
    result = close_position(position(lv).id, lv.deps())
    assert not result.closed and result.submission_id == lv.submitted[-1]
    assert run_last(lv) == "confirmed"
    [closed] = lv.rows(m.AgentHistoricalSwap)
    assert closed.close_reason == "manual"
    assert closed.profit_loss_sol == Decimal("1.1") - Decimal("0.000015") - Decimal("1.000015")
    assert_chain_matches_ledger(lv, agent_id)


def test_a_live_write_off_sends_nothing(lv: Live) -> None:
    agent_id = opened(lv, {})
    sent = len(lv.chain.sent)
    result = write_off(position(lv).id, lv.deps())
    assert result.written_off and result.profit_loss_sol == Decimal("-1.000015")
    assert len(lv.chain.sent) == sent and lv.rows(m.AgentPosition) == []
    [closed] = lv.rows(m.AgentHistoricalSwap)
    assert (closed.close_reason, closed.profit_loss_sol) == ("burn", Decimal("-1.000015"))
    # the SOL is what the chain holds; the written-off tokens stay in the wallet unsold
    assert lv.chain.lamports(lv.address) == lv.sol_balance(agent_id) * 10 ** 9
    assert lv.chain.token_units(lv.address) == 1000 * UNITS
    assert_ledger_invariant(lv.engine)
    assert_money_conserved(lv.engine)
