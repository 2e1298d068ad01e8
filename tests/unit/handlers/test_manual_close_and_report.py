"""Manual close and the performance report on in-memory fakes (docs/rules.md §10, §14)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal as D

import pytest

from domain.errors import InvalidInput
from domain.performance import Snapshot
from domain.ports import PriceQuote
from domain.records import StoredSnapshot
from tests.fakes import Store, make_deps
from tests.unit.domain.helpers import AGENT_ID, T0
from tests.unit.handlers.test_sweep import NOW, TOKEN, WALLET, only, store
from workers.cli.trading import parse_since
from workers.handlers.operators.report import report
from workers.handlers.positions.manual_close import close_position
from workers.handlers.shared.deps import Deps


def close_deps(s: Store, price: str | None = "0.0012") -> Deps:
    feed = {} if price is None else {TOKEN: PriceQuote(TOKEN, D(price), NOW, "static")}
    return make_deps(s, now=NOW, feed=feed)


def test_a_manual_close_sells_everything_with_reason_manual() -> None:
    s = store()
    position_id = only(s).id
    result = close_position(position_id, close_deps(s))
    assert result.closed and s.positions == {}
    [closed] = s.history
    assert (closed.close_reason, closed.profit_loss_sol) == ("manual", D("0.199995"))
    assert close_position(position_id, close_deps(s)).reason == "no_position"


def test_a_manual_close_without_a_price_changes_nothing() -> None:
    s = store()
    assert close_position(only(s).id, close_deps(s, None)).reason == "price_unavailable"
    assert len(s.positions) == 1 and s.transactions == []


def test_the_report_uses_the_one_performance_formula() -> None:
    s = store()
    close_position(only(s).id, close_deps(s, "0.0012"))  # a win: +0.199995
    reopened = store()
    s.positions.update(reopened.positions)
    s.balances.update(reopened.balances)
    for hour, value in ((0, "10"), (1, "8"), (2, "9")):
        s.snapshots.append(StoredSnapshot(AGENT_ID, WALLET.wallet_address,
                                          T0 + timedelta(hours=hour),
                                          Snapshot(D(value), D(0), D(0), D(value))))
    [row] = report(None, None, close_deps(s, "0.0005"))
    p = row.performance
    assert (p.closed_trades, p.open_positions, p.win_rate_percent) == (1, 1, D(100))
    assert p.realized_pnl_sol == D("0.199995")
    assert p.unrealized_pnl_sol == D("-0.5")  # 1000 × 0.0005 − 1.0 invested
    assert p.fees_paid_sol == D("0.000005")
    assert p.max_drawdown_percent == D(20)


def test_since_is_all_or_a_window() -> None:
    assert parse_since("all", NOW) is None
    assert parse_since("24h", NOW) == NOW - timedelta(hours=24)
    assert parse_since("7d", NOW) == NOW - timedelta(days=7)
    with pytest.raises(InvalidInput):
        parse_since("yesterday", NOW)


def test_an_unknown_id_is_not_a_position() -> None:
    assert close_position(uuid.uuid4(), close_deps(store())).reason == "no_position"
