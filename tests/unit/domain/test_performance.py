from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D

from domain import performance as perf
from domain.ledger import ClosedTrade
from tests.unit.domain.helpers import AGENT_ID, T0, TOKEN, position


def test_snapshot() -> None:
    a = position(remaining_amount=D(500))  # 1.0 SOL for 1000; 500 held → cost 0.5
    b = position(purchase_amount=D(200), total_invested_sol=D("0.3"))
    snap = perf.snapshot(D("2.5"), [(a, D("0.002")), (b, D("0.001")), (b, None)])
    assert snap == perf.Snapshot(D("2.5"), D("1.2"), D("0.4"), D("3.7"))  # 0.5 − 0.1
    assert snap.portfolio_balance_sol.as_tuple().exponent == -8


def test_empty_snapshot() -> None:
    assert perf.snapshot(D(1), []) == perf.Snapshot(D(1), D(0), D(0), D(1))


def test_snapshot_hour() -> None:
    at = datetime(2025, 1, 1, 14, 59, 59, 999, tzinfo=timezone(timedelta(hours=2)))
    assert perf.snapshot_hour(at) == datetime(2025, 1, 1, 12, tzinfo=UTC)


def test_max_drawdown() -> None:
    values = [D(10), D(12), D(9), D(11), D(6), D(20), D(15)]
    assert perf.max_drawdown_percent(values) == D(50)  # 12 → 6
    assert perf.max_drawdown_percent([]) == 0
    assert perf.max_drawdown_percent([D(1), D(2), D(3)]) == 0
    assert perf.max_drawdown_percent([D(0), D(0)]) == 0


def test_performance() -> None:
    closed = [perf.TradeOutcome(D("0.5"), D(50)), perf.TradeOutcome(D("-0.2"), D(-20)),
              perf.TradeOutcome(D(0), D(0))]
    open_pos = position(realized_profit_sol=D("0.1"), remaining_amount=D(500))
    result = perf.performance(closed, [(open_pos, D("0.002"))], [D("0.001"), D("0.002")],
                              [D(10), D(8), D(12)])
    assert result == perf.Performance(
        realized_pnl_sol=D("0.4"), unrealized_pnl_sol=D("0.5"),
        win_rate_percent=D("33.3333"), average_return_percent=D("10"), closed_trades=3,
        open_positions=1, fees_paid_sol=D("0.003"), max_drawdown_percent=D(20))


def test_performance_accepts_history_rows() -> None:
    row = ClosedTrade(
        agent_id=AGENT_ID, wallet_address="w", token_address=TOKEN, token_symbol=None,
        amount=D(1000), purchase_price=D("0.001"), sale_price=D("0.002"),
        change_percent=D(100), profit_loss_sol=D(1), profit_loss_usd=None,
        purchase_time=T0, sale_time=T0, purchase_transaction_id=uuid.UUID(int=1),
        sale_transaction_id=uuid.UUID(int=2), signal_id=None, close_reason="take_profit")
    result = perf.performance([row], [], [], [])
    assert (result.realized_pnl_sol, result.win_rate_percent) == (D(1), D(100))


def test_performance_with_no_trades() -> None:
    result = perf.performance([], [], [], [])
    assert (result.win_rate_percent, result.average_return_percent, result.closed_trades) == (
        D(0), D(0), 0)
