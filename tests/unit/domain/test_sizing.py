from __future__ import annotations

import random
from decimal import Decimal as D
from typing import Any

import pytest

from domain.errors import SizingError
from domain.sizing import (
    PositionSize,
    buy_precheck,
    impact_acceptable,
    impact_retry_sizes,
    position_size,
)
from tests.unit.domain.helpers import config

SPEC_CALCULATOR = {
    "solBalanceThresholds": {"minimum": "0.1", "medium": 1, "large": 10},
    "positionSizes": {"small": {"min": "0.1", "max": "0.5"}, "medium": {"min": "0.5", "max": 2},
                      "large": {"min": 2, "max": 10}},
    "randomization": {"enabled": False},
}


def size(
    balance: str, max_per_token: Any = 100, minimum: Any = "0.1",
    calculator: dict[str, Any] | None = None, rng: random.Random | None = None,
) -> PositionSize:
    c = config(positionCalculator=calculator or SPEC_CALCULATOR,
               purchaseLimits={"maxPurchasePerToken": max_per_token,
                               "minimumAgentBalance": minimum})
    return position_size(D(balance), c, rng or random.Random(0))


def reason(balance: str, **kwargs: Any) -> str:
    with pytest.raises(SizingError) as info:
        size(balance, **kwargs)
    return info.value.reason


def test_spec_examples() -> None:
    assert size("5", max_per_token=5, minimum="0.1") == PositionSize(D(2), "medium", False)
    assert size("20", max_per_token=15) == PositionSize(D(10), "large", False)
    assert size("2.5", max_per_token=10, minimum=1) == PositionSize(D("1.5"), "medium", False)


@pytest.mark.parametrize(
    ("balance", "category", "expected"),
    [("0.1", None, None), ("0.99999999", "small", D("0.5")), ("1", "medium", D("0.9")),
     ("9.99999999", "medium", D(2)), ("10", "large", D("9.9")), ("30", "large", D(10)),
     ("0.5", "small", D("0.4"))],
)
def test_category_at_each_threshold(balance: str, category: str | None, expected: D | None) -> None:
    if category is None:  # B = minimum threshold: sized but B − size < minimum balance
        assert reason(balance) == "insufficient_balance_for_minimum"
        return
    result = size(balance)
    assert (result.category, result.size) == (category, expected)


def test_balance_below_threshold_minimum() -> None:
    assert reason("0.09999999") == "below_minimum_balance"


@pytest.mark.parametrize("balance", ["0", "-1"])
def test_no_balance(balance: str) -> None:
    assert reason(balance) == "insufficient_balance"


def test_capped_at_max_purchase_per_token() -> None:
    assert size("50", max_per_token="3.3").size == D("3.3")


def test_leaves_the_minimum_balance_and_is_capped_again() -> None:
    assert size("10.5", max_per_token="0.2", minimum="10.4").size == D("0.1")
    assert size("11", max_per_token="0.2", minimum="10.5").size == D("0.2")
    assert reason("10.4", minimum="10.4") == "insufficient_balance_for_minimum"
    assert reason("10", minimum="10.4") == "insufficient_balance_for_minimum"


def test_rounding_to_zero_is_an_invalid_size() -> None:
    assert reason("1.000000001", minimum=1) == "invalid_position_size"


def test_sizes_are_rounded_down_to_8_decimals() -> None:
    result = size("1.123456789", minimum=1)
    assert result.size == D("0.12345678")


class FixedRng(random.Random):
    def __init__(self, k: int) -> None:
        super().__init__(0)
        self.k = k

    def randrange(self, *args: Any, **kwargs: Any) -> int:
        assert args == (10**8,)
        return self.k


def test_randomization() -> None:
    calculator = {**SPEC_CALCULATOR, "randomization": {"enabled": True}}
    low = size("5", calculator=calculator, rng=FixedRng(0))
    assert low == PositionSize(D("0.5"), "medium", True)
    mid = size("5", calculator=calculator, rng=FixedRng(50_000_000))
    assert mid.size == D("1.25")  # 0.5 + 1.5 × 0.5
    top = size("5", calculator=calculator, rng=FixedRng(10**8 - 1))
    assert top.size == D("1.99999998")  # 0.5 + 1.5 × 0.99999999 = 1.999999985, rounded down


def test_randomization_needs_min_below_max() -> None:
    calculator = {**SPEC_CALCULATOR, "randomization": {"enabled": True},
                  "positionSizes": {"medium": {"min": 1, "max": 1}}}
    assert size("5", calculator=calculator) == PositionSize(D(1), "medium", False)


def test_randomization_is_reproducible_with_a_seeded_rng() -> None:
    calculator = {**SPEC_CALCULATOR, "randomization": {"enabled": True}}
    first = size("5", calculator=calculator, rng=random.Random(42))
    assert first == size("5", calculator=calculator, rng=random.Random(42))
    assert D("0.5") <= first.size <= D(2)


def test_default_config() -> None:
    c = config()
    assert position_size(D(3), c, random.Random(1)).category == "small"
    assert position_size(D(3), c, random.Random(1)).size == D("0.1")


def test_impact_retry_sizes() -> None:
    assert impact_retry_sizes(D(1)) == [D(1), D("0.9"), D("0.8"), D("0.7")]
    assert impact_retry_sizes(D("0.0125")) == [D("0.0125"), D("0.01125"), D("0.01")]
    assert impact_retry_sizes(D("0.013")) == [D("0.013"), D("0.0117"), D("0.0104")]
    assert impact_retry_sizes(D("0.011")) == [D("0.011")]
    assert impact_retry_sizes(D("0.123456789")) == [
        D("0.12345678"), D("0.11111111"), D("0.09876543"), D("0.08641975")]


def test_impact_acceptable() -> None:
    c = config(purchaseLimits={"maxPriceImpact": "0.05"})
    assert impact_acceptable(D("0.0499"), c)
    assert not impact_acceptable(D("0.05"), c)  # |impact| ≥ limit is too high
    assert not impact_acceptable(D("-0.06"), c)
    assert impact_acceptable(D("0.9"), config())  # unset: no limit


def test_buy_precheck() -> None:
    c = config()  # minimumAgentBalance 0.5
    assert buy_precheck(D(0), 0, c) == "insufficient_balance"
    assert buy_precheck(D("0.49999999"), 0, c) == "below_minimum_balance"
    assert buy_precheck(D("0.5"), 24, c) is None
    assert buy_precheck(D("0.5"), 25, c) == "max_positions"
    assert buy_precheck(D(1), 3, c, max_positions=3) == "max_positions"
