"""Live swaps end to end on a real Solana runtime: the fake Jupiter's transactions are signed
by the wallet and executed by LiteSVM behind a loopback RPC node; real PostgreSQL, the handlers
the tasks call (``execute_signal`` → ``execute_live`` → ``reconcile``), a known wallet key."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from sqlalchemy import Engine

from domain.signals import Signal
from persistence import models as m
from tests.integration.live_support import Live, close_chains, live
from tests.invariants import assert_ledger_invariant
from tests.litesvm_chain import TOKEN_2022
from tests.live_fakes import JUPITER, MINT
from workers.handlers.live.reconcile import reconcile
from workers.handlers.live.record import record_landed
from workers.handlers.live.swaps import execute_live
from workers.handlers.signals.execute import execute_signal

__all__ = ["close_chains"]  # the fixture that stops each test's loopback server


@pytest.fixture
def lv(clean_db: Engine) -> Live:
    return live(clean_db)


def _execution(lv: Live) -> tuple[str, str, str | None]:
    row = lv.rows(m.SignalExecution)[-1]
    return row.status, row.action, row.reason


def _swaps(lv: Live) -> list[m.AgentTransaction]:
    return [t for t in lv.rows(m.AgentTransaction) if t.transaction_type == "SWAP"]


def _buy(lv: Live) -> tuple[object, str]:
    agent_id = lv.agent()
    outcome = lv.signal(agent_id)
    assert (outcome.status, outcome.action) == ("PENDING", "open")
    assert _execution(lv) == ("PENDING", "open", None)
    assert lv.submitted == [outcome.submission_id]
    return agent_id, execute_live(outcome.submission_id, lv.deps())


def test_a_buy_lands_and_is_recorded_with_fees(lv: Live) -> None:
    agent_id, status = _buy(lv)
    assert status == "confirmed"
    [sent] = lv.chain.sent
    assert sent.verified and sent.payer == lv.address
    [tx] = _swaps(lv)
    assert tx.transaction_hash == sent.signature
    assert tx.input_amount == Decimal("1") and tx.output_amount == Decimal("1000")
    assert tx.network_fee_sol == Decimal("0.000015")
    assert tx.routes[0]["swapInfo"]["label"] == "Fake AMM"
    [position] = lv.rows(m.AgentPosition)
    assert position.purchase_price == Decimal("0.001")
    assert position.total_invested_sol == Decimal("1.000015")
    assert lv.sol_balance(agent_id) == Decimal("8.999985")
    assert _execution(lv) == ("EXECUTED", "open", None)
    assert lv.rows(m.SignalExecution)[-1].transaction_id == tx.id
    [sub] = lv.rows(m.SwapSubmission)
    assert (sub.status, sub.signature, sub.transaction_id) == ("confirmed", sent.signature, tx.id)
    assert lv.chain.quotes[0]["amount"] == "1000000000"
    assert lv.chain.token_units(lv.address) == 1_000_000_000  # the chain holds the 1000 tokens
    assert lv.chain.lamports(lv.address) == 8_999_985_000
    assert_ledger_invariant(lv.engine)


def test_a_first_buy_pays_the_rent_of_the_token_account_it_opens(clean_db: Engine) -> None:
    lv = live(clean_db, token_account=False)
    agent_id = lv.agent()
    assert execute_live(lv.signal(agent_id).submission_id, lv.deps()) == "confirmed"
    rent = Decimal("0.00203928")  # a 165-byte token account, rent-exempt
    [tx] = _swaps(lv)
    assert tx.input_amount == Decimal("1") + rent and tx.output_amount == Decimal("1000")
    assert lv.sol_balance(agent_id) == Decimal("8.999985") - rent
    assert lv.chain.lamports(lv.address) == 8_999_985_000 - 2_039_280
    assert_ledger_invariant(lv.engine)


def test_a_token_2022_mint_is_bought_and_sold_the_same_way(clean_db: Engine) -> None:
    lv = live(clean_db, token_program=TOKEN_2022)
    agent_id = lv.agent()
    assert execute_live(lv.signal(agent_id).submission_id, lv.deps()) == "confirmed"
    assert lv.chain.token_units(lv.address) == 1_000_000_000
    assert execute_live(lv.signal(agent_id, "sell").submission_id, lv.deps()) == "confirmed"
    assert [(t.input_amount, t.output_amount) for t in _swaps(lv)] == [
        (Decimal("1"), Decimal("1000")), (Decimal("1000"), Decimal("1"))]
    assert lv.chain.token_units(lv.address) == 0 and lv.rows(m.AgentPosition) == []
    assert lv.sol_balance(agent_id) == Decimal("9.99997")
    assert lv.chain.lamports(lv.address) == 9_999_970_000


def test_the_signed_transaction_verifies_against_the_wallet_key(lv: Live) -> None:
    _buy(lv)
    [sub] = lv.rows(m.SwapSubmission)
    import base64

    tx = VersionedTransaction.from_bytes(base64.b64decode(sub.signed_transaction))
    assert tx.message.account_keys[0] == Pubkey.from_string(lv.address)
    assert tx.verify_with_results() == [True]
    assert str(tx.signatures[0]) == sub.signature


def test_a_sell_signal_closes_the_live_position_through_the_same_path(lv: Live) -> None:
    agent_id, _ = _buy(lv)
    lv.chain.lamports_per_unit = Decimal("1.2")  # 0.0012 SOL per token
    outcome = lv.signal(agent_id, "sell")
    assert (outcome.status, outcome.action) == ("PENDING", "close")
    assert execute_live(outcome.submission_id, lv.deps()) == "confirmed"
    assert lv.chain.quotes[-1]["amount"] == "1000000000"  # 1000 tokens × 10^6
    sale = _swaps(lv)[-1]
    assert (sale.input_amount, sale.output_amount) == (Decimal("1000"), Decimal("1.2"))
    assert sale.network_fee_sol == Decimal("0.000015")
    assert lv.rows(m.AgentPosition) == []
    [closed] = lv.rows(m.AgentHistoricalSwap)
    assert closed.close_reason == "signal"
    assert closed.profit_loss_sol == Decimal("1.2") - Decimal("0.000015") - Decimal("1.000015")
    assert lv.sol_balance(agent_id) == Decimal("10.19997")
    assert _execution(lv) == ("EXECUTED", "close", None)
    assert all(s.verified for s in lv.chain.sent)
    assert_ledger_invariant(lv.engine)


def _signal_status(lv: Live, signal_id: int) -> str:
    [row] = [r for r in lv.rows(m.TradingSignal) if r.id == signal_id]
    return str(row.status)


def test_a_signal_arriving_during_a_swap_in_flight_executes_after_it(lv: Live) -> None:
    agent_id = lv.agent()
    buy = lv.signal(agent_id)
    assert buy.status == "PENDING"
    waited = lv.signal(agent_id, "sell")  # the buy is still in flight: the sell waits
    assert (waited.status, waited.reason) == ("WAIT", "swap_in_flight")
    assert len(lv.rows(m.SwapSubmission)) == 1 and len(lv.rows(m.SignalExecution)) == 1
    [(sell_id, again)] = [e for e in lv.queue.executes]
    assert again == [agent_id] and lv.queue.attempts == [(1, 0.5)]
    assert [_signal_status(lv, i) for i in (1, 2)] == ["dispatched", "dispatched"]
    # Still in flight at the first retry: it waits again, a little longer.
    [still] = execute_signal(sell_id, again, lv.deps(), attempt=1)
    assert still.status == "WAIT" and lv.queue.attempts[-1] == (2, 1.0)
    assert execute_live(buy.submission_id, lv.deps()) == "confirmed"
    assert _signal_status(lv, 1) == "processed"  # its last live execution became terminal
    [sell] = execute_signal(sell_id, again, lv.deps(), attempt=2)
    assert (sell.status, sell.action) == ("PENDING", "close")
    assert _signal_status(lv, sell_id) == "dispatched"  # until the sale is terminal
    assert execute_live(sell.submission_id, lv.deps()) == "confirmed"
    assert _signal_status(lv, sell_id) == "processed"
    assert lv.rows(m.AgentPosition) == []
    assert sorted((r.status, r.action) for r in lv.rows(m.SignalExecution)) == [
        ("EXECUTED", "close"), ("EXECUTED", "open")]
    assert_ledger_invariant(lv.engine)


def test_a_swap_still_in_flight_after_the_longest_wait_fails_the_later_signal(
        lv: Live) -> None:
    lv.chain.land = False
    agent_id = lv.agent()
    lv.signal(agent_id)
    with lv.uow() as uow:
        sell_id, _ = uow.signals.add(Signal(MINT, "sell", 50), lv.clock.now())
        uow.signals.mark_dispatched(sell_id, 1, lv.clock.now())
        uow.commit()
    lv.clock.advance(301)  # past Policy.signal_max_wait (5 minutes) since the sell's receipt
    [failed] = execute_signal(sell_id, [agent_id], lv.deps(), attempt=9)
    assert (failed.status, failed.reason) == ("FAILED", "swap_still_in_flight")
    assert len(lv.rows(m.SwapSubmission)) == 1 and len(lv.queue.executes) == 0
    assert _signal_status(lv, sell_id) == "processed"


class Crash(BaseException):
    """The process dies (not an Exception: nothing catches it)."""


def _crash(_: float) -> None:
    raise Crash


def test_a_crash_after_send_is_reconciled_exactly_once(lv: Live) -> None:
    lv.chain.land = False  # in flight when the process dies

    agent_id = lv.agent()
    outcome = lv.signal(agent_id)
    deps = lv.deps()
    crashed = type(deps)(**{**deps.__dict__, "sleep": _crash})
    with pytest.raises(Crash):
        execute_live(outcome.submission_id, crashed)
    [sent] = lv.chain.sent
    [sub] = lv.rows(m.SwapSubmission)
    assert sub.status == "submitted" and sub.signature == sent.signature  # stored before send
    lv.chain.land_now(sent.signature)  # it landed while nobody was watching
    with lv.uow() as uow:  # what a second, racing resolver read
        snapshot = uow.submissions.get(sub.id)
    lv.clock.advance(1)
    first = reconcile(lv.deps(idle=0, grace=300))
    second = reconcile(lv.deps(idle=0, grace=300))
    assert first == {"confirmed": 1} and second == {}
    assert record_landed(snapshot, lv.deps()) is None  # a racing resolver: no-op
    assert len(_swaps(lv)) == 1 and len(lv.rows(m.AgentPosition)) == 1
    assert len(lv.chain.sent) == 1 and lv.chain.calls["swap"] == 1
    assert _execution(lv) == ("EXECUTED", "open", None)
    assert lv.sol_balance(agent_id) == Decimal("8.999985")
    assert_ledger_invariant(lv.engine)


def test_an_expired_blockhash_is_marked_failed_without_a_second_send(lv: Live) -> None:
    lv.chain.land = False
    lv.chain.height_step = 40  # the chain moves on while the swap is dropped
    agent_id = lv.agent()
    outcome = lv.signal(agent_id)
    assert execute_live(outcome.submission_id, lv.deps()) == "expired"
    assert len(lv.chain.sent) == 1 and lv.chain.calls["swap"] == 1
    assert reconcile(lv.deps(idle=0, grace=0)) == {}
    [sub] = lv.rows(m.SwapSubmission)
    assert sub.status == "expired"
    assert _execution(lv) == ("FAILED", "none", "swap_expired")
    assert _swaps(lv) == [] and lv.rows(m.AgentPosition) == []
    assert lv.sol_balance(agent_id) == Decimal("10")


def test_unconfirmed_swaps_resend_the_same_bytes_then_the_reconciler_expires_them(
        lv: Live) -> None:
    lv.chain.land = False
    lv.config = type(lv.config)(confirm_timeout_s=5, poll_s=1, resend_s=2)
    outcome = lv.signal(lv.agent())
    assert execute_live(outcome.submission_id, lv.deps()) == "submitted"
    lv.clock.advance(1)
    assert len(lv.chain.sent) >= 2 and len({s.raw for s in lv.chain.sent}) == 1
    assert reconcile(lv.deps(idle=0, grace=300)) == {"pending": 1}
    lv.chain.block_height += lv.chain.validity + 1
    sends = len(lv.chain.sent)
    assert reconcile(lv.deps(idle=0, grace=300)) == {"expired": 1}
    assert len(lv.chain.sent) == sends and lv.chain.calls["swap"] == 1


def test_an_onchain_error_fails_the_execution(lv: Live) -> None:
    lv.chain.onchain_error = 6001  # Jupiter's program fails the swap (slippage exceeded)
    agent_id, status = _buy(lv)
    assert status == "failed"
    assert _execution(lv) == ("FAILED", "none", "swap_failed")
    [sub] = lv.rows(m.SwapSubmission)
    assert "6001" in sub.error
    [fee] = _swaps(lv)  # the network fee was paid all the same
    assert (fee.id, fee.transaction_hash) == (sub.transaction_id, sub.signature)
    assert (fee.network_fee_sol, fee.input_amount, fee.output_amount) == (
        Decimal("0.000015"), None, None)
    assert lv.sol_balance(agent_id) == Decimal("9.999985")
    assert lv.rows(m.AgentPosition) == []
    assert_ledger_invariant(lv.engine)


def test_429_5xx_and_timeouts_are_retried(lv: Live) -> None:
    lv.chain.failures = {"quote": [429, 503, httpx.ReadTimeout("slow")],
                         "swap": [502], "sendTransaction": [500]}
    _, status = _buy(lv)
    assert status == "confirmed"
    assert lv.chain.calls["quote"] == 4 and lv.chain.calls["swap"] == 2
    assert lv.chain.calls["sendTransaction"] == 2 and len(lv.chain.sent) == 1


def test_a_4xx_is_not_retried_and_nothing_is_signed(lv: Live) -> None:
    lv.chain.failures = {"quote": [400]}
    _, status = _buy(lv)
    assert status == "failed"
    assert lv.chain.calls == {"quote": 1}
    assert _execution(lv) == ("FAILED", "none", "swap_refused")
    [sub] = lv.rows(m.SwapSubmission)
    assert sub.signature is None and "HTTP 400" in sub.error


def test_price_impact_retries_at_smaller_sizes(lv: Live) -> None:
    config = {"positionCalculator": {"randomization": {"enabled": False}},
              "purchaseLimits": {"maxPurchasePerToken": "1", "maxPriceImpact": "0.1"}}
    lv.chain.impacts = ["0.3", "0.12", "0.05"]
    outcome = lv.signal(lv.agent(config=config))
    assert execute_live(outcome.submission_id, lv.deps()) == "confirmed"
    assert [q["amount"] for q in lv.chain.quotes] == ["1000000000", "900000000", "800000000"]
    [position] = lv.rows(m.AgentPosition)
    assert position.total_invested_sol == Decimal("0.800015")


def test_price_impact_too_high_at_every_size_skips(lv: Live) -> None:
    config = {"positionCalculator": {"randomization": {"enabled": False}},
              "purchaseLimits": {"maxPurchasePerToken": "1", "maxPriceImpact": "0.1"}}
    lv.chain.impacts = ["0.3"] * 4
    outcome = lv.signal(lv.agent(config=config))
    assert execute_live(outcome.submission_id, lv.deps()) == "failed"
    assert _execution(lv) == ("SKIPPED", "none", "price_impact_too_high")
    assert "swap" not in lv.chain.calls


def test_a_lost_intent_is_failed_by_the_reconciler_and_never_sent(lv: Live) -> None:
    outcome = lv.signal(lv.agent())
    lv.clock.advance(600)
    assert reconcile(lv.deps(idle=60, grace=120)) == {"failed": 1}
    assert _execution(lv) == ("FAILED", "none", "not_submitted")
    assert execute_live(outcome.submission_id, lv.deps()) == "failed"  # a late task: no-op
    assert lv.chain.calls == {}


def test_a_live_agent_without_a_loaded_key_is_skipped(clean_db: Engine) -> None:
    lv = live(clean_db)
    agent_id = lv.agent()
    lv.registry = live(clean_db).registry.__class__({}, {}, ())
    assert lv.signal(agent_id).reason == "wallet_not_loaded"


def test_a_live_dca_buys_more_through_the_same_path(lv: Live) -> None:
    config = {"positionCalculator": {"randomization": {"enabled": False}},
              "purchaseLimits": {"maxPurchasePerToken": "1"},
              "dca": {"enabled": True, "mode": "moderate"}}
    agent_id = lv.agent(config=config)
    assert execute_live(lv.signal(agent_id).submission_id, lv.deps()) == "confirmed"
    lv.prices.price, lv.chain.lamports_per_unit = Decimal("0.0008"), Decimal("0.8")
    outcome = lv.signal(agent_id)
    assert (outcome.status, outcome.action) == ("PENDING", "dca")
    assert execute_live(outcome.submission_id, lv.deps()) == "confirmed"
    [position] = lv.rows(m.AgentPosition)
    assert (position.purchase_amount, position.dca_count) == (Decimal("1750"), 1)
    assert position.total_invested_sol == Decimal("1.60003")  # 1 + 0.6 SOL + two fees
    assert _execution(lv) == ("EXECUTED", "dca", None)
    assert_ledger_invariant(lv.engine)


STRANGER = Keypair().pubkey()
OTHER_MINT = str(Keypair().pubkey())


def _route_into_other_mint(ixs: list[Instruction], payer: Pubkey) -> list[Instruction]:
    mint = Pubkey.from_string(MINT)
    return [Instruction(ix.program_id, ix.data, [
        AccountMeta(Pubkey.from_string(OTHER_MINT), m.is_signer, m.is_writable)
        if m.pubkey == mint else m for m in ix.accounts]) if ix.program_id == JUPITER else ix
        for ix in ixs]


ROGUE_SWAPS: dict[str, tuple[dict[str, Any], str]] = {
    "a transfer to a third party": ({"tamper": lambda ixs, payer: [*ixs, transfer(
        TransferParams(from_pubkey=payer, to_pubkey=STRANGER, lamports=5_000_000_000))]},
        f"System transfer of 5000000000 lamports to {STRANGER}, not an account of the wallet"),
    "an unknown program": ({"tamper": lambda ixs, payer: [*ixs, Instruction(
        Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"), b"x",
        [AccountMeta(payer, True, False)])]},
        "program MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr is not on the allow-list"),
    "a quote for another mint": ({"tamper_quote": lambda q: {**q, "outputMint": OTHER_MINT}},
                                 f"outputMint {OTHER_MINT}, asked {MINT}"),
    "a route into another mint": ({"tamper": _route_into_other_mint},
                                  f"does not swap into {MINT}"),
}


@pytest.mark.parametrize("rogue", list(ROGUE_SWAPS))
def test_a_rogue_swap_is_refused_and_nothing_is_signed_or_sent(lv: Live, rogue: str) -> None:
    knobs, reason = ROGUE_SWAPS[rogue]
    for name, value in knobs.items():
        setattr(lv.chain, name, value)
    agent_id, status = _buy(lv)
    assert status == "failed"
    assert _execution(lv) == ("FAILED", "none", "swap_refused")
    [sub] = lv.rows(m.SwapSubmission)
    assert reason in sub.error and sub.signature is None and sub.signed_transaction is None
    assert lv.chain.sent == [] and "sendTransaction" not in lv.chain.calls
    assert lv.chain.lamports(lv.address) == 10_000_000_000  # the chain never saw it
    assert lv.sol_balance(agent_id) == Decimal("10") and lv.rows(m.AgentPosition) == []
    assert _swaps(lv) == []


def test_the_legitimate_swap_is_judged_with_its_lookup_table_resolved(lv: Live) -> None:
    _, status = _buy(lv)
    assert status == "confirmed"
    [sent] = lv.chain.sent
    assert VersionedTransaction.from_bytes(sent.raw).message.address_table_lookups
    assert lv.chain.calls["getMultipleAccounts"] == 1  # the table, read before signing
