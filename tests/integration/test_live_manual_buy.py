"""A live agent's manual buy (``fleet trades buy``) on a real Solana runtime: the buy becomes
a swap intent on the signal path, the live handler signs and sends it to LiteSVM behind the
loopback RPC, and the ledger records what the chain confirmed (docs/rules.md §3, §12)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine

from domain.errors import InvalidInput
from persistence import models as m
from tests.integration.live_support import Live, close_chains, live
from tests.invariants import assert_ledger_invariant, assert_money_conserved
from tests.live_fakes import MINT
from workers.handlers.live.swaps import execute_live
from workers.handlers.operators.manual_buy import BuyOrder, manual_buy

__all__ = ["close_chains"]  # the fixture that stops each test's loopback server


def test_a_live_manual_buy_is_signed_sent_and_recorded_from_the_chain(
        clean_db: Engine) -> None:
    lv: Live = live(clean_db)
    agent_id = lv.agent()  # 10 SOL
    bought = manual_buy(BuyOrder(agent_id, MINT, "2", "by hand"), lv.deps())
    assert (bought.status, bought.action) == ("PENDING", "open")
    [intent] = lv.rows(m.SwapSubmission)
    assert lv.submitted == [intent.id] and intent.amount_in == Decimal(2)
    assert lv.rows(m.AgentTransaction)[-1].transaction_type == "DEPOSIT"  # nothing yet

    with pytest.raises(InvalidInput, match="live swap in flight"):  # one at a time
        manual_buy(BuyOrder(agent_id, MINT, "1"), lv.deps())
    assert len(lv.rows(m.TradingSignal)) == 1

    assert execute_live(intent.id, lv.deps()) == "confirmed"
    [sent] = lv.chain.sent
    assert sent.verified and sent.payer == lv.address
    [tx] = [t for t in lv.rows(m.AgentTransaction) if t.transaction_type == "SWAP"]
    assert (tx.transaction_hash, tx.input_amount, tx.output_amount) == (
        sent.signature, Decimal(2), Decimal(2000))
    assert tx.signal_id == bought.signal_id
    [execution] = lv.rows(m.SignalExecution)
    assert (execution.status, execution.action, execution.transaction_id) == (
        "EXECUTED", "open", tx.id)
    assert lv.sol_balance(agent_id) == Decimal(10) - Decimal(2) - tx.network_fee_sol
    assert lv.chain.token_units(lv.address) == 2_000_000_000  # the chain holds the 2000
    assert_ledger_invariant(lv.engine)
    assert_money_conserved(lv.engine)

    with pytest.raises(InvalidInput, match="margin for its fees"):  # a live buy ≥ balance
        manual_buy(BuyOrder(agent_id, MINT, str(lv.sol_balance(agent_id))), lv.deps())
    assert len(lv.rows(m.TradingSignal)) == 1
