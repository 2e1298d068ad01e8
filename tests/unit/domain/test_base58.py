from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.base58 import b58decode, b58encode, is_public_key


def test_known_vectors() -> None:
    assert b58encode(b"") == ""
    assert b58encode(b"\0\0\x01") == "112"
    assert b58encode(b"hello world") == "StV1DL6CwTryKyV"
    assert b58decode("StV1DL6CwTryKyV") == b"hello world"
    assert len(b58decode("So11111111111111111111111111111111111111112")) == 32


@given(st.binary(max_size=64))
def test_round_trip(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data if data else b58encode(data) == ""


@pytest.mark.parametrize("bad", ["", "0OIl", "abc+"])
def test_decode_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        b58decode(bad)


def test_is_public_key() -> None:
    assert is_public_key("So11111111111111111111111111111111111111112")
    assert is_public_key("11111111111111111111111111111111")  # the all-zero key
    assert is_public_key(b58encode(bytes(range(32))))
    assert not is_public_key(b58encode(bytes(31) + b"\x01" + b"\x00"))  # 33 bytes
    assert not is_public_key(b58encode(b"\xff" * 31))
    assert not is_public_key("So1111111111111111111111111111111111111111O")
    assert not is_public_key(None)
