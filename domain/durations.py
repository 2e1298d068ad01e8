"""Ages and cooldowns compared exactly: a config's minutes and seconds are Decimals (fractions
allowed, docs/rules.md §13), so they are never turned into a ``timedelta`` (which refuses
Decimals and overflows past ~2.7 million years) or a float."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from domain.money import in_context

_MICROSECONDS = timedelta(microseconds=1)
_PER_SECOND = Decimal(1_000_000)


@in_context
def at_least(elapsed: timedelta, seconds: Decimal) -> bool:
    """Whether ``elapsed`` (negative when the clock went back) is at least ``seconds``."""
    return Decimal(elapsed // _MICROSECONDS) >= seconds * _PER_SECOND


@in_context
def minutes(n: Decimal) -> Decimal:
    """``n`` minutes in seconds."""
    return n * 60
