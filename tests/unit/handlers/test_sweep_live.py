"""Live positions in the sweep (docs/rules.md §12): an exit records a ``close`` intent with its
reason, a take-profit sale a ``sell`` intent with its ladder step, a DCA on a dip a ``dca``
intent; each is handed to ``live.execute`` after the commit and nothing fills inside the sweep."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal as D
from typing import Any

from domain.config import TakeProfitLevel
from domain.ledger import SOL_MINT
from domain.submissions import CLOSE, DCA, FAILED, SELL
from domain.wallets import Wallet
from tests.fakes import FakeUnitOfWork, RecordingQueue, Store
from tests.unit.domain.helpers import AGENT_ID
from tests.unit.handlers.test_sweep import TOKEN, deps, only, quote, store
from workers.handlers.live.intents import stored_take_profit
from workers.handlers.positions.sweep import sweep
from workers.handlers.shared.deps import Deps

LIVE = Wallet("live_wallet", AGENT_ID, "live")


def live_store(config: dict[str, Any] | None = None) -> Store:
    s = store(config, wallet_address=LIVE.wallet_address)
    s.wallets.append(LIVE)
    return s


def live_deps(s: Store, price: str, sent: list[uuid.UUID], loaded: bool = True) -> Deps:
    """``sent`` is the queue's list of submissions handed to ``live.execute``."""
    d = deps(s, quote(price), keys=(LIVE.wallet_address,) if loaded else ())
    queue = RecordingQueue(live=sent)
    return replace(d, queue=queue)


def test_a_live_stop_loss_records_a_close_intent_and_submits_it_after_commit() -> None:
    s, sent = live_store(), []
    report = sweep([TOKEN], live_deps(s, "0.0005", sent))  # −50 %: below the −32 % stop
    [intent] = s.submissions
    assert (intent.kind, intent.close_reason, intent.amount_in) == (CLOSE, "stop_loss", D(1000))
    assert (intent.wallet_address, intent.token_address, intent.signal_id) == (
        LIVE.wallet_address, TOKEN, None)
    assert sent == [intent.id]
    assert report.actions == {"live_stop_loss": 1}
    assert only(s).holding == D(1000) and s.transactions == [] and s.history == []


def test_a_second_sweep_while_the_close_is_in_flight_records_nothing() -> None:
    s, sent = live_store(), []
    sweep([TOKEN], live_deps(s, "0.0005", sent))
    sweep([TOKEN], live_deps(s, "0.0005", sent))
    assert len(s.submissions) == 1 and len(sent) == 1
    s.submissions[0] = replace(s.submissions[0], status=FAILED)  # a failed close is retried
    sweep([TOKEN], live_deps(s, "0.0005", sent))
    assert len(s.submissions) == 2 and len(sent) == 2


def test_a_live_take_profit_records_a_sell_intent_with_its_ladder_step() -> None:
    s, sent = live_store({"takeProfit": {"enabled": True, "mode": "aggressive"}}), []
    report = sweep([TOKEN], live_deps(s, "0.0013", sent))  # +30 %: the 25 % level
    [intent] = s.submissions
    assert (intent.kind, intent.amount_in, intent.close_reason) == (SELL, D(250), None)
    assert stored_take_profit(intent.quote).levels == (TakeProfitLevel(D(25), D(25)),)
    assert sent == [intent.id] and report.actions == {"live_sell": 1}
    # nothing changes before the chain confirms the sale
    assert only(s).holding == D(1000) and only(s).take_profit_levels_hit == 0
    assert s.transactions == []


def test_a_live_dca_on_a_dip_records_a_dca_intent_within_the_balance() -> None:
    config = {"dca": {"enabled": True}, "stopLoss": {"enabled": False}}
    s, sent = live_store(config), []
    s.balances[(LIVE.wallet_address, SOL_MINT)] = D(5)
    report = sweep([TOKEN], live_deps(s, "0.0007", sent))  # −30 %: moderate's first level
    [intent] = s.submissions
    assert intent.kind == DCA and intent.amount_in > 0 and sent == [intent.id]
    assert report.actions == {"live_dca": 1} and only(s).dca_count == 0
    poor, sent = live_store(config), []  # the buy ≥ the balance: no margin for the fees
    poor.balances[(LIVE.wallet_address, SOL_MINT)] = intent.amount_in
    assert not sweep([TOKEN], live_deps(poor, "0.0007", sent)).actions
    assert poor.submissions == [] and sent == []


def test_a_live_wallet_not_loaded_is_skipped() -> None:
    s, sent = live_store(), []
    d = live_deps(s, "0.0005", sent, loaded=False)
    assert not sweep([TOKEN], d).actions and s.submissions == []
    assert isinstance(FakeUnitOfWork(s).submissions.in_flight(AGENT_ID), bool)
