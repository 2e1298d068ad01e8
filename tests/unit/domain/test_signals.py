from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from domain.errors import InvalidSignal
from domain.signals import Signal, parse_signal
from domain.vocabulary import DEFAULT_VOCABULARY
from tests.unit.domain.helpers import TOKEN

VALID: dict[str, Any] = {"token_address": TOKEN, "signal_type": "buy", "signal_strength": 50}


def bad(field: str, **changes: Any) -> None:
    payload = {**VALID, **changes}
    with pytest.raises(InvalidSignal) as info:
        parse_signal(payload)
    assert info.value.field == field


def test_minimal_payload() -> None:
    assert parse_signal(VALID) == Signal(TOKEN, "buy", 50)


def test_full_payload() -> None:
    user = uuid.uuid4()
    signal = parse_signal({
        **VALID, "symbol": "SOL", "activation_reason": "volume spike", "source": "dexscreener",
        "idempotency_key": "k-1", "user_id": str(user),
    })
    assert (signal.symbol, signal.source, signal.idempotency_key, signal.user_id) == (
        "SOL", "dexscreener", "k-1", user,
    )
    assert signal.activation_reason == "volume spike"


def test_optional_fields_may_be_null() -> None:
    signal = parse_signal({**VALID, "symbol": None, "user_id": None})
    assert signal.symbol is None and signal.user_id is None


@pytest.mark.parametrize(
    ("signal_type", "is_exit"),
    [("sell", True), ("SELL", True), ("Sell", True), ("buy", False),
     ("Velocity (Dex Boost Detection)", False), ("sell-off", False)],
)
def test_exit_is_sell_in_any_case(signal_type: str, is_exit: bool) -> None:
    parsed = parse_signal({**VALID, "signal_type": signal_type})
    assert DEFAULT_VOCABULARY.is_exit(parsed.signal_type) is is_exit


@pytest.mark.parametrize("strength", [1, 100])
def test_strength_bounds_inclusive(strength: int) -> None:
    assert parse_signal({**VALID, "signal_strength": strength}).signal_strength == strength


@pytest.mark.parametrize("strength", [0, 101, -1, "50", 50.5, True, None, [50], 100.0001,
                                      Decimal("50.5"), Decimal("NaN"), float("inf"),
                                      Decimal("1E+999999"), Decimal("0E-999999999")])
def test_strength_must_be_an_integer_1_to_100(strength: object) -> None:
    bad("signal_strength", signal_strength=strength)


@pytest.mark.parametrize("strength", [50.0, Decimal("50.0"), Decimal("5E+1"), Decimal("50.000")])
def test_a_number_with_an_integral_value_is_that_integer(strength: object) -> None:
    """As JSON Schema reads `type: integer` (the HTTP API's schema must agree with it)."""
    parsed = parse_signal({**VALID, "signal_strength": strength}).signal_strength
    assert parsed == 50 and type(parsed) is int


def test_unknown_field_rejected_by_name() -> None:
    bad("signal_strenght", signal_strenght=5)


@pytest.mark.parametrize("field", ["token_address", "signal_type", "signal_strength"])
def test_required_fields(field: str) -> None:
    payload = {k: v for k, v in VALID.items() if k != field}
    with pytest.raises(InvalidSignal) as info:
        parse_signal(payload)
    assert info.value.field == field
    bad(field, **{field: None})


@pytest.mark.parametrize(
    "address",
    ["", "not-base58!", "So1111111111111111111111111111111111111111O", "abc",
     "1111111111111111111111111111111111111111111111",  # 46 chars
     "3yZe7d", 12345],
)
def test_token_address_must_be_a_32_byte_base58_key(address: object) -> None:
    bad("token_address", token_address=address)


def test_token_address_33_bytes_rejected() -> None:
    from domain.base58 import b58encode

    bad("token_address", token_address=b58encode(b"\x01" * 33))


@pytest.mark.parametrize(
    ("field", "limit"),
    [("signal_type", 50), ("symbol", 50), ("source", 100), ("idempotency_key", 128)],
)
def test_length_limits(field: str, limit: int) -> None:
    assert getattr(parse_signal({**VALID, field: "x" * limit}), field) == "x" * limit
    bad(field, **{field: "x" * (limit + 1)})


@pytest.mark.parametrize("field", ["token_address", "signal_type"])
@pytest.mark.parametrize("value", ["", "   ", "\t\n", 5])
def test_required_strings_empty_or_non_string_rejected(field: str, value: object) -> None:
    bad(field, **{field: value})


@pytest.mark.parametrize("field", ["symbol", "activation_reason", "source", "idempotency_key",
                                   "user_id"])
@pytest.mark.parametrize("value", ["", "   ", "\t\n ", None])
def test_optional_strings_empty_or_blank_are_null(field: str, value: object) -> None:
    assert getattr(parse_signal({**VALID, field: value}), field) is None


@pytest.mark.parametrize("field", ["symbol", "activation_reason", "source", "idempotency_key"])
def test_optional_non_strings_rejected(field: str) -> None:
    bad(field, **{field: 5})


@pytest.mark.parametrize(("value", "is_exit"), [
    (" sell ", True), ("sell\n", True), ("\tSELL", True), (" buy", False)])
def test_signal_type_is_trimmed_before_anything_reads_it(value: str, is_exit: bool) -> None:
    signal = parse_signal({**VALID, "signal_type": value})
    assert signal.signal_type == value.strip()
    assert DEFAULT_VOCABULARY.is_exit(signal.signal_type) is is_exit


def test_every_string_is_trimmed() -> None:
    user = uuid.uuid4()
    signal = parse_signal({
        "token_address": f"  {TOKEN}\n", "signal_type": " buy ", "signal_strength": 50,
        "symbol": " BONK ", "activation_reason": "\tvolume spike\n", "source": " dex ",
        "idempotency_key": " k-1 ", "user_id": f" {user} "})
    assert signal == Signal(TOKEN, "buy", 50, "BONK", "volume spike", "dex", "k-1", user)


@pytest.mark.parametrize(("field", "limit"), [("signal_type", 50), ("symbol", 50)])
def test_length_is_that_of_the_trimmed_text(field: str, limit: int) -> None:
    assert getattr(parse_signal({**VALID, field: f"  {'x' * limit}  "}), field) == "x" * limit
    bad(field, **{field: f" {'x' * (limit + 1)} "})


@pytest.mark.parametrize("value", ["not-a-uuid", 5, "x" * 40])
def test_user_id_must_be_a_uuid_string(value: object) -> None:
    bad("user_id", user_id=value)


def test_payload_must_be_an_object() -> None:
    with pytest.raises(InvalidSignal) as info:
        parse_signal(["token_address"])  # type: ignore[arg-type]
    assert info.value.field == "payload"


@pytest.mark.parametrize("bad", ["a\x00b", "x\ud800"])
def test_text_postgres_cannot_store_is_rejected(bad: str) -> None:
    with pytest.raises(InvalidSignal) as err:
        parse_signal({"token_address": "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr",
                      "signal_type": "buy", "signal_strength": 5, "source": bad})
    assert err.value.field == "source"
