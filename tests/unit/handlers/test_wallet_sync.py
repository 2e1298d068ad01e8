"""Balances from the chain (docs/rules.md §12) on the in-memory fakes: a difference between
what the chain holds and the ledger becomes an explicit ledger row (deposit, withdrawal,
unexplained) with a warning; a position whose tokens left the wallet is charged and flagged;
a wallet with a live swap in flight (or just settled) is left alone; the ledger invariants
hold after every adjustment and a second run writes nothing."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from decimal import Decimal as D

import pytest
import structlog

from domain.agents import Agent
from domain.config import TradingConfig
from domain.errors import TransientError
from domain.ledger import SOL_MINT, Transaction
from domain.ports import Fill, PriceQuote
from domain.signals import Signal
from domain.submissions import CONFIRMED, SwapSubmission
from domain.wallet_sync import TOKENS_LEFT, ChainBalances
from domain.wallets import Wallet
from tests.fakes import FakeUnitOfWork, KeysOnlyVenue, Store, make_deps
from tests.invariants import check_ledger, check_money
from tests.unit.domain.helpers import AGENT_ID, T0, USER_ID
from workers.handlers.live.sync import sync_wallets, tally
from workers.handlers.operators.agents import deposit
from workers.handlers.positions.manual_close import close_position
from workers.handlers.positions.sweep import sweep
from workers.handlers.positions.write_off import write_off
from workers.handlers.shared import trades
from workers.handlers.shared.deps import Deps
from workers.handlers.shared.trades import Order, Touched
from workers.handlers.signals.execute import execute_signal

TOKEN = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"
AIRDROP = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
LIVE = Wallet("4vJ9JU1bJJE96FWSJKvHsmmFADCg4gpZQff4P3bkLKi", AGENT_ID, "live")
NOW = T0 + timedelta(hours=1)


class _Clock:
    def now(self):  # type: ignore[no-untyped-def]
        return T0


def _store() -> Store:
    """A live agent that deposited 10 SOL and bought 1000 tokens for 1 SOL + 0.000015 fee."""
    agent = Agent(id=AGENT_ID, user_id=USER_ID, name="agent", trading_mode="live",
                  automated_trading_simulation=True, automated_trading_live=True)
    s = Store(agents={AGENT_ID: (agent, None)}, wallets=[LIVE])
    with FakeUnitOfWork(s) as uow:
        deposit(uow, LIVE, D(10), _Clock())
        fill = Fill(sol_amount=D(1), token_amount=D(1000), network_fee_sol=D("0.000015"))
        quote = PriceQuote(TOKEN, D("0.001"), T0, "test")
        trades.open_new(uow, LIVE, TradingConfig.default(), (TOKEN, "TKN"), fill,
                        Order(quote, T0, Touched()))
        uow.commit()
    return s


def _deps(s: Store, sol: str, tokens: dict[str, str] | None = None) -> Deps:
    d = make_deps(s, now=NOW, keys=[LIVE.wallet_address])
    venue = d.venue
    assert isinstance(venue, KeysOnlyVenue)
    held = {TOKEN: "1000"} if tokens is None else tokens
    venue.chain[LIVE.wallet_address] = ChainBalances(
        LIVE.wallet_address, 77, D(sol), {mint: D(v) for mint, v in held.items()})
    return d


def _invariants(s: Store) -> None:
    check_ledger(s.transactions, s.balances, s.positions.values())
    cash = sum((b for (_, mint), b in s.balances.items() if mint == SOL_MINT), D(0))
    closed = sum((h.profit_loss_sol for h in s.history), D(0))
    check_money(s.transactions, cash, closed, s.positions.values())


def _only(s: Store):  # type: ignore[no-untyped-def]
    [p] = s.positions.values()
    return p


def _adjustments(s: Store) -> list[Transaction]:
    return [t for t in s.transactions if t.adjustment is not None]


def test_a_wallet_that_matches_the_chain_is_balanced_and_nothing_is_written() -> None:
    s = _store()
    before = list(s.transactions)
    [result] = sync_wallets(_deps(s, "8.999985"))
    assert (result.status, result.reason, result.slot) == ("balanced", None, 77)
    assert s.transactions == before
    _invariants(s)


def test_sol_in_is_a_deposit_and_sol_out_a_withdrawal_each_once_with_a_warning() -> None:
    s = _store()
    with structlog.testing.capture_logs() as logs:
        [result] = sync_wallets(_deps(s, "10.999985"))
    [row] = _adjustments(s)
    assert (result.status, [a.kind for a in result.adjustments]) == ("adjusted", ["deposit"])
    assert (row.transaction_type, row.adjustment, row.output_mint, row.output_amount) == (
        "DEPOSIT", "deposit", SOL_MINT, D(2))
    assert row.swap_payload == {"sync": {"slot": 77, "chain": "10.999985",
                                         "ledger": "8.999985"}}
    assert s.balances[(LIVE.wallet_address, SOL_MINT)] == D("10.999985")
    [warning] = [e for e in logs if e["event"] == "wallets.adjusted"]
    assert (warning["log_level"], warning["kind"], warning["amount"]) == (
        "warning", "deposit", "2.00000000")
    _invariants(s)
    assert sync_wallets(_deps(s, "10.999985"))[0].status == "balanced"  # idempotent
    assert len(_adjustments(s)) == 1

    [result] = sync_wallets(_deps(s, "7.5"))
    assert [(a.kind, a.amount) for a in result.adjustments] == [("withdrawal", D("-3.499985"))]
    withdrawal = _adjustments(s)[-1]
    assert (withdrawal.transaction_type, withdrawal.input_mint, withdrawal.input_amount) == (
        "WITHDRAWAL", SOL_MINT, D("3.499985"))
    assert s.balances[(LIVE.wallet_address, SOL_MINT)] == D("7.5")
    _invariants(s)


def test_the_chain_s_lamports_are_rounded_down_to_the_ledger_s_8_decimals() -> None:
    s = _store()
    assert sync_wallets(_deps(s, "8.999985009"))[0].status == "balanced"
    [result] = sync_wallets(_deps(s, "8.999984999"))  # 1 lamport short of 0.00000001
    assert [(a.kind, a.amount) for a in result.adjustments] == [("withdrawal", D("-0.00000001"))]
    _invariants(s)


def test_tokens_that_left_are_charged_to_the_position_and_flag_it() -> None:
    s = _store()
    with structlog.testing.capture_logs() as logs:
        [result] = sync_wallets(_deps(s, "8.999985", {TOKEN: "400"}))
    [row] = _adjustments(s)
    assert (row.transaction_type, row.adjustment, row.input_mint, row.input_amount) == (
        "ADJUSTMENT", "unexplained", TOKEN, D(600))
    assert row.input_symbol == "TKN" and row.output_mint is None and row.fees_sol == 0
    p = _only(s)
    assert result.flagged == (p.id,)
    assert (p.holding, p.tokens_left, p.purchase_amount) == (D(400), D(600), D(1000))
    # the cost basis of the 600 lost tokens is a realized loss: 600/1000 × 1.000015 SOL
    assert p.realized_profit_sol == D("-0.60000900")
    assert s.balances[(LIVE.wallet_address, TOKEN)] == D(400)
    assert any(e["event"] == "position.tokens_left" and e["log_level"] == "warning"
               for e in logs)
    _invariants(s)

    sync_wallets(_deps(s, "8.999985", {}))  # the rest left too: the token account is gone
    p = _only(s)
    assert (p.holding, p.tokens_left) == (D(0), D(1000))
    assert s.balances[(LIVE.wallet_address, TOKEN)] == D(0)
    _invariants(s)
    cached = {TOKEN: PriceQuote(TOKEN, D("0.0001"), NOW, "test")}  # far below the stop
    report = sweep([TOKEN], make_deps(s, now=NOW, cached=cached, keys=[LIVE.wallet_address]))
    assert report.skipped_positions == {p.id: TOKENS_LEFT} and s.submissions == []
    feed = {TOKEN: PriceQuote(TOKEN, D("0.0001"), NOW, "test")}
    held = make_deps(s, now=NOW, feed=feed, keys=[LIVE.wallet_address])
    assert close_position(p.id, held).reason == TOKENS_LEFT  # nothing to sell by hand
    with FakeUnitOfWork(s) as uow:
        exit_id, _ = uow.signals.add(Signal(TOKEN, "sell", 50), NOW)
        uow.signals.mark_dispatched(exit_id, 1, NOW)
        uow.commit()
    execute_signal(exit_id, [AGENT_ID], held)  # nor on an exit signal
    assert s.executions[(exit_id, AGENT_ID)].reason == TOKENS_LEFT
    assert s.submissions == [] and _only(s).holding == 0
    assert write_off(p.id, _deps(s, "8.999985", {})).written_off  # the operator closes it
    [closed] = s.history
    assert closed.profit_loss_sol == D("-1.000015") and s.positions == {}
    _invariants(s)


def test_tokens_the_ledger_never_saw_are_an_unexplained_adjustment() -> None:
    s = _store()
    [result] = sync_wallets(_deps(s, "8.999985", {TOKEN: "1000", AIRDROP: "5.5"}))
    [row] = _adjustments(s)
    assert (row.transaction_type, row.adjustment, row.output_mint, row.output_amount) == (
        "ADJUSTMENT", "unexplained", AIRDROP, D("5.5"))
    assert result.flagged == () and _only(s).tokens_left is None
    assert s.balances[(LIVE.wallet_address, AIRDROP)] == D("5.5")
    _invariants(s)


def _swap(status: str, updated: timedelta) -> SwapSubmission:
    return SwapSubmission(agent_id=AGENT_ID, wallet_address=LIVE.wallet_address, kind="open",
                          token_address=TOKEN, amount_in=D(1), status=status,
                          created_at=NOW - updated, updated_at=NOW - updated)


@pytest.mark.parametrize(("status", "ago", "skipped"), [
    ("intent", timedelta(hours=2), True), ("submitted", timedelta(hours=2), True),
    (CONFIRMED, timedelta(seconds=59), True), (CONFIRMED, timedelta(seconds=60), True),
    (CONFIRMED, timedelta(seconds=61), False)])
def test_a_wallet_with_a_swap_in_flight_or_just_settled_is_left_for_the_next_round(
        status: str, ago: timedelta, skipped: bool) -> None:
    s = _store()
    s.submissions.append(_swap(status, ago))
    deps = _deps(s, "5")  # the chain already shows the swap's SOL leaving
    [result] = sync_wallets(deps)
    venue = deps.venue
    assert isinstance(venue, KeysOnlyVenue)
    if skipped:
        assert (result.status, result.reason) == ("skipped", "swap_in_flight")
        assert venue.reads == [] and _adjustments(s) == []  # not even read
    else:
        assert result.status == "adjusted"


def test_a_swap_recorded_while_the_chain_was_read_skips_the_wallet() -> None:
    s = _store()
    deps = _deps(s, "5")
    venue = deps.venue
    assert isinstance(venue, KeysOnlyVenue)
    chain = venue.chain[LIVE.wallet_address]

    class Racing(KeysOnlyVenue):
        def wallet_balances(self, wallet_address: str) -> ChainBalances:
            s.submissions.append(_swap("submitted", timedelta(0)))  # a sale began meanwhile
            return chain

    [result] = sync_wallets(dataclasses.replace(deps, venue=Racing()))
    assert (result.status, result.reason) == ("skipped", "swap_in_flight")
    assert _adjustments(s) == []


def test_a_ledger_that_moved_while_the_chain_was_read_skips_the_wallet() -> None:
    s = _store()
    deps = _deps(s, "5")
    chain = deps.venue.wallet_balances(LIVE.wallet_address)

    class Moving(KeysOnlyVenue):
        def wallet_balances(self, wallet_address: str) -> ChainBalances:
            with FakeUnitOfWork(s) as uow:  # the operator's deposit lands meanwhile
                deposit(uow, LIVE, D(1), _Clock())
                uow.commit()
            return chain

    [result] = sync_wallets(dataclasses.replace(deps, venue=Moving()))
    assert (result.status, result.reason) == ("skipped", "ledger_moved")
    assert _adjustments(s) == []
    _invariants(s)


def test_a_chain_that_cannot_be_read_is_reported_and_the_other_wallets_still_sync() -> None:
    s = _store()
    other_agent = dataclasses.replace(s.agents[AGENT_ID][0], id=uuid.uuid4(), name="other")
    s.agents[other_agent.id] = (other_agent, None)
    other = Wallet("9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin", other_agent.id, "live")
    s.wallets.append(other)
    deps = _deps(s, "8.999985")

    class Flaky(KeysOnlyVenue):
        def wallet_balances(self, wallet_address: str) -> ChainBalances:
            if wallet_address == other.wallet_address:
                raise TransientError("solana.rpc getBalance: timed out")
            return ChainBalances(wallet_address, 9, D("8.999985"), {TOKEN: D(1000)})

    results = sync_wallets(dataclasses.replace(deps, venue=Flaky()))
    assert tally(results) == {"balanced": 1, "unread": 1}
    [unread] = [r for r in results if r.status == "unread"]
    assert unread.wallet_address == other.wallet_address and "timed out" in str(unread.reason)
