"""The CLI's plain read connection takes the same database URL as the engine."""

from __future__ import annotations

import pytest

from persistence.read_connection import libpq_url


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql+psycopg://postgres@127.0.0.1:5432/sf", "postgresql://postgres@127.0.0.1:5432/sf"),
    ("postgresql://u:p%40ss@db/sf?sslmode=require", "postgresql://u:p%40ss@db/sf?sslmode=require"),
    # the embedded server's unix socket, as workers/embedded.py spells it
    ("postgresql+psycopg://postgres@/signalfleet?host=/tmp/pg", "postgresql://postgres@/signalfleet?host=/tmp/pg"),
    ("postgres://u@h/d", "postgresql://u@h/d"),
])
def test_an_engine_url_becomes_libpqs(url: str, expected: str) -> None:
    assert libpq_url(url) == expected


@pytest.mark.parametrize("url", ["mysql://root:secret@h/d", "secret-without-scheme", ""])
def test_another_url_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(ValueError) as raised:
        libpq_url(url)
    assert "secret" not in str(raised.value) and "postgresql://" in str(raised.value)
