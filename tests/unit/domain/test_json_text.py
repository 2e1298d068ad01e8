"""Outside JSON read one way: exact numbers, and every unreadable text a ValueError."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidInput
from domain.json_text import loads_exact, unstorable
from domain.money import to_decimal


def test_numbers_are_exact_decimals() -> None:
    assert loads_exact('{"p": 0.000012345678901234567890}') == {
        "p": Decimal("0.000012345678901234567890")}
    assert loads_exact(b"[NaN]", constants_as_text=True) == ["NaN"]


@pytest.mark.parametrize("text", ["{", "[" * 100_000, "1e9999999999999999999999",
                                  '{"a": -1E+99999999999999999999}', "1" * 5000])
def test_every_unreadable_text_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match=r"not valid JSON|integer string conversion|Expecting"):
        loads_exact(text)


@pytest.mark.parametrize("value", ["1e9999999999999999999999", "-1E+99999999999999999999"])
def test_an_exponent_past_decimal_is_out_of_range_not_a_crash(value: str) -> None:
    with pytest.raises(InvalidInput, match="out of range") as caught:
        to_decimal(value, "purchaseLimits.minimumAgentBalance")
    assert caught.value.field == "purchaseLimits.minimumAgentBalance"


def test_every_zero_is_one_printable_zero() -> None:
    for value in ("0e-999999999999999999", "-0", "0.000", Decimal("0E+99999")):
        zero = to_decimal(value, "x")
        assert zero == 0 and format(zero, "f") == "0"


@pytest.mark.parametrize(("text", "bad"), [("buy", False), ("\x00", True), ("a\ud800", True),
                                           ("\U0001f680", False)])
def test_unstorable(text: str, bad: bool) -> None:
    assert unstorable(text) is bad
