"""Write-off (docs/rules.md §11 ``burn``) and the live manual close on in-memory fakes: a
write-off closes at zero proceeds with nothing sent; a live manual close records a ``close``
intent for ``live.execute`` and changes nothing until the chain confirms it."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from domain.ledger import SOL_MINT
from domain.submissions import CLOSE, FAILED
from tests.fakes import RecordingQueue
from tests.unit.handlers.test_manual_close_and_report import close_deps
from tests.unit.handlers.test_sweep import TOKEN, WALLET, only, store
from tests.unit.handlers.test_sweep_live import LIVE, live_store
from workers.handlers.positions.manual_close import close_position
from workers.handlers.positions.write_off import write_off


def test_a_write_off_closes_at_zero_proceeds_without_a_price() -> None:
    s = store()
    position_id, invested = only(s).id, only(s).total_invested_sol
    result = write_off(position_id, close_deps(s, None))  # no price: still written off
    assert result.written_off and s.positions == {}
    [burn] = s.transactions
    assert (burn.transaction_type, burn.input_mint, burn.input_amount) == ("BURN", TOKEN,
                                                                          D(1000))
    assert burn.output_amount is None and burn.fees_sol == 0
    [closed] = s.history
    assert (closed.close_reason, closed.profit_loss_sol) == ("burn", -invested)
    assert s.balances[(WALLET.wallet_address, TOKEN)] == 0
    assert s.balances[(WALLET.wallet_address, SOL_MINT)] == D(5)  # no SOL moved
    assert write_off(position_id, close_deps(s, None)).reason == "no_position"


def test_a_live_write_off_sends_nothing_and_waits_for_a_swap_in_flight() -> None:
    s, sent = live_store(), []
    s.balances[(LIVE.wallet_address, TOKEN)] = D(1000)
    deps = replace(close_deps(s), queue=RecordingQueue(live=sent))
    closing = close_position(only(s).id, deps)  # a live close in flight
    assert write_off(only(s).id, deps).reason == "swap_in_progress"
    s.submissions[0] = replace(s.submissions[0], status=FAILED)  # the close failed
    assert write_off(only(s).id, deps).written_off
    assert s.positions == {} and sent == [closing.submission_id]


def test_a_live_manual_close_records_a_close_intent() -> None:
    s, sent = live_store(), []
    deps = replace(close_deps(s), queue=RecordingQueue(live=sent))
    result = close_position(only(s).id, deps)
    [intent] = s.submissions
    assert not result.closed and result.submission_id == intent.id and sent == [intent.id]
    assert (intent.kind, intent.close_reason, intent.amount_in) == (CLOSE, "manual", D(1000))
    assert only(s).holding == D(1000) and s.transactions == []
    assert close_position(only(s).id, deps).reason == "swap_in_progress"
    assert len(s.submissions) == 1
