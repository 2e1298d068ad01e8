from __future__ import annotations

import decimal
import subprocess
import sys
import threading
from decimal import Decimal as D
from pathlib import Path

import pytest

from domain import money
from domain.errors import InvalidInput


def test_scales() -> None:
    assert D("0.00000001") == money.SOL_SCALE
    assert D("1e-18") == money.TOKEN_SCALE
    assert D("0.0001") == money.PERCENT_SCALE
    assert money.CONTEXT.prec >= 40
    for trap in (decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow):
        assert money.CONTEXT.traps[trap]


@pytest.mark.parametrize(
    ("fn", "value", "expected"),
    [
        (money.sol_down, D("1.123456789"), D("1.12345678")),
        (money.sol_down, D("0.000000019"), D("0.00000001")),
        (money.sol, D("1.123456785"), D("1.12345678")),  # half-even: 8 stays
        (money.sol, D("1.123456775"), D("1.12345678")),  # half-even: 7 rounds up
        (money.sol, D("1.123456789"), D("1.12345679")),
        (money.tokens_down, D("1.0000000000000000019"), D("1.000000000000000001")),
        (money.tokens, D("1.0000000000000000019"), D("1.000000000000000002")),
        (money.percent, D("12.34565"), D("12.3456")),
        (money.percent, D("-32"), D("-32.0000")),
    ],
)
def test_quantisers(fn: object, value: D, expected: D) -> None:
    result = fn(value)  # type: ignore[operator]
    assert result == expected
    assert result.as_tuple().exponent == expected.as_tuple().exponent


def test_context_is_used_whatever_the_thread_context() -> None:
    result: list[D] = []

    def run() -> None:
        decimal.getcontext().prec = 5
        result.append(money.change_percent(D("1.0000000001"), D(1)))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert result == [D("1E-8")]


def test_change_percent() -> None:
    assert money.change_percent(D("0.0008"), D("0.001")) == D(-20)
    assert money.change_percent(D(5), D(0)) == 0


def test_lamports_round_trip() -> None:
    assert money.lamports(D("1.5")) == 1_500_000_000
    assert money.lamports(D("0.0000000019")) == 1  # rounded down
    assert money.from_lamports(1_500_000_001) == D("1.500000001")
    assert money.to_base_units(D("12.3456789"), 6) == 12_345_678
    assert money.from_base_units(12_345_678, 6) == D("12.345678")
    with pytest.raises(InvalidInput):
        money.to_base_units(D(1), -1)
    with pytest.raises(InvalidInput):
        money.from_lamports(True)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (5, D(5)),
        (D("0.5"), D("0.5")),
        ("0.1", D("0.1")),
        ("-32", D(-32)),
        ("1e-3", D("0.001")),
        (0.1, D("0.1")),  # read as it prints, not as the binary float
        (1e-7, D("1e-7")),
        (10**40, D(10**40)),
        ("0.000000000000000001", D("1e-18")),
    ],
)
def test_to_decimal_accepts(raw: object, expected: D) -> None:
    assert money.to_decimal(raw, "x") == expected


@pytest.mark.parametrize(
    "raw",
    [True, False, None, float("nan"), float("inf"), D("NaN"), D("-Infinity"), "NaN", "Infinity",
     "", " 1", "1 ", "1_000", "abc", [1], {"a": 1}, "1e999999999", "1e-999999", 10**41,
     "1" * 61, "0." + "0" * 59 + "1"],
)
def test_to_decimal_rejects(raw: object) -> None:
    with pytest.raises(InvalidInput) as info:
        money.to_decimal(raw, "purchaseLimits.maxPurchasePerToken")
    assert info.value.field == "purchaseLimits.maxPurchasePerToken"


def test_install_context_sets_the_thread_and_default_contexts() -> None:
    code = (
        "import decimal, threading; from domain import money; money.install_context(); "
        "out = []; t = threading.Thread(target=lambda: out.append(decimal.getcontext().prec)); "
        "t.start(); t.join(); print(decimal.getcontext().prec, out[0], "
        "decimal.getcontext().traps[decimal.DivisionByZero])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=Path(__file__).resolve().parents[3])
    assert result.stdout.split() == ["50", "50", "True"]
