from __future__ import annotations

from decimal import Decimal as D

from domain import pnl


def test_partial_sale() -> None:
    result = pnl.partial_sale(D("1.0"), D(1000), D(250), D("0.37"), D("0.001"), D("0.0015"),
                              D(150))
    assert result == pnl.Pnl(D("0.12"), D(50), D(18))


def test_partial_sale_edges() -> None:
    zero_amount = pnl.partial_sale(D(1), D(0), D(10), D("0.5"), D(0), D(1), None)
    assert zero_amount == pnl.Pnl(D("0.5"), D(0), None)  # basis 0, change 0 %
    loss = pnl.partial_sale(D("1.5"), D(3), D(1), D("0.2"), D("0.5"), D("0.2"), D("100.5"))
    assert loss == pnl.Pnl(D("-0.3"), D(-60), D("-30.15"))
    assert loss.sol.as_tuple().exponent == -8 and loss.percent.as_tuple().exponent == -4


def test_full_close() -> None:
    # bought 1.0 SOL, TP sold for 0.37, closed the rest for 0.9
    result = pnl.full_close(D("1.0"), D("1.27"), pnl.close_cost_basis(D("0.001"), D(1000)),
                            D(200))
    assert result == pnl.Pnl(D("0.27"), D(27), D(54))


def test_full_close_zero_basis() -> None:
    assert pnl.full_close(D("0.1"), D(0), D(0), None) == pnl.Pnl(D("-0.1"), D(0), None)


def test_cost_basis() -> None:
    assert pnl.cost_basis(D("1.5"), D(1600), D(400)) == D("0.375")
    assert pnl.cost_basis(D("1.5"), D(0), D(400)) == 0
