"""Money: one Decimal context, the stored scales, and strict parsing (docs/rules.md §13, §15;
docs/architecture.md).

Every domain function that does arithmetic runs inside ``CONTEXT`` (see ``in_context``), so the
result does not depend on whatever context the calling thread happens to have. A Decimal is
never built from a float: a float is read as the decimal it prints as (``Decimal(str(x))``).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import ParamSpec, TypeVar

from domain.errors import InvalidInput

CONTEXT = Context(
    prec=50,
    rounding=ROUND_HALF_EVEN,
    Emin=-999999,
    Emax=999999,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

SOL_SCALE = Decimal("0.00000001")  # NUMERIC(20,8): SOL and USD amounts
TOKEN_SCALE = Decimal("1e-18")  # NUMERIC(30,18): token amounts and token prices
PRICE_SCALE = TOKEN_SCALE
PERCENT_SCALE = Decimal("0.0001")  # NUMERIC(12,4)
PERCENT_MAX = Decimal("99999999.9999")  # the largest NUMERIC(12,4) holds
LAMPORTS_PER_SOL = 10**9
MAX_MAGNITUDE = 40
MAX_DIGITS = 60
ZERO = Decimal("0")
HUNDRED = Decimal("100")

# docs/rules.md §13: an optional sign, ASCII digits with an optional decimal point, an optional
# exponent ("0.5", ".5", "5.", "+2", "1e5"); no spaces, underscores, other digits, NaN, Infinity.
_DECIMAL_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")

P = ParamSpec("P")
R = TypeVar("R")


def in_context(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` inside the money context (prec 50, traps on), whatever the caller's is."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with localcontext(CONTEXT):
            return fn(*args, **kwargs)

    return wrapper


def install_context() -> None:
    """Make ``CONTEXT`` the default for this thread and threads started later (entry points)."""
    import decimal

    for name in ("prec", "rounding", "Emin", "Emax"):
        setattr(decimal.DefaultContext, name, getattr(CONTEXT, name))
    decimal.DefaultContext.traps = dict(CONTEXT.traps)
    decimal.setcontext(CONTEXT.copy())


def _quantize(x: Decimal, scale: Decimal, rounding: str) -> Decimal:
    return x.quantize(scale, rounding=rounding, context=CONTEXT)


def sol(x: Decimal) -> Decimal:
    """A SOL (or USD) amount at the stored scale, rounded half-even (for persisting results)."""
    return _quantize(x, SOL_SCALE, ROUND_HALF_EVEN)


def sol_down(x: Decimal) -> Decimal:
    """A SOL amount to spend, rounded down (towards zero) to 8 decimals."""
    return _quantize(x, SOL_SCALE, ROUND_DOWN)


def tokens(x: Decimal) -> Decimal:
    """A token amount (or a price) at the stored 18-decimal scale, rounded half-even."""
    return _quantize(x, TOKEN_SCALE, ROUND_HALF_EVEN)


def tokens_down(x: Decimal) -> Decimal:
    """A token amount to sell, rounded down so it never exceeds what is held."""
    return _quantize(x, TOKEN_SCALE, ROUND_DOWN)


def price(x: Decimal) -> Decimal:
    """A price in SOL per token at the stored 18-decimal scale, rounded half-even."""
    return _quantize(x, PRICE_SCALE, ROUND_HALF_EVEN)


def percent(x: Decimal) -> Decimal:
    """A percentage at the stored 4-decimal scale, rounded half-even."""
    return _quantize(x, PERCENT_SCALE, ROUND_HALF_EVEN)


@in_context
def change_percent(value: Decimal, base: Decimal) -> Decimal:
    """``(value − base) / base × 100`` in that order; a zero (or negative) base gives 0 %."""
    if base <= 0:
        return ZERO
    return (value - base) / base * HUNDRED


@in_context
def lamports(amount_sol: Decimal) -> int:
    """SOL to whole lamports, rounded down (never spend more than asked)."""
    return int(amount_sol.scaleb(9).to_integral_value(rounding=ROUND_DOWN))


def from_lamports(n: int) -> Decimal:
    """Whole lamports to SOL (exact)."""
    return _from_units(n, 9)


@in_context
def to_base_units(amount: Decimal, decimals: int) -> int:
    """A token amount to the integer base units of a mint with ``decimals``, rounded down."""
    if not 0 <= decimals <= 30:
        raise InvalidInput("decimals", f"must be 0..30, got {decimals}")
    return int(amount.scaleb(decimals).to_integral_value(rounding=ROUND_DOWN))


def from_base_units(n: int, decimals: int) -> Decimal:
    """Integer base units of a mint with ``decimals`` to a token amount (exact)."""
    if not 0 <= decimals <= 30:
        raise InvalidInput("decimals", f"must be 0..30, got {decimals}")
    return _from_units(n, decimals)


def _from_units(n: int, decimals: int) -> Decimal:
    if isinstance(n, bool) or not isinstance(n, int):
        raise InvalidInput("amount", "must be an integer number of base units")
    return Decimal(n).scaleb(-decimals, context=CONTEXT)


def to_decimal(value: object, field: str) -> Decimal:
    """Read a JSON-ish number: int, Decimal, a decimal string, or a float via ``str``.

    Rejects bool, NaN, infinities, blank or padded strings, absurd magnitudes (|exponent| >
    40 or more than 60 digits, which no stored column can hold) and every other type with
    ``InvalidInput(field, reason)``.
    """
    number = _read_number(value, field)
    if not number:  # one zero for all: ``0e-999999999999`` is zero, but would not print
        return ZERO
    if not -MAX_MAGNITUDE <= number.adjusted() <= MAX_MAGNITUDE:
        raise InvalidInput(field, "is out of range")
    if len(number.as_tuple().digits) > MAX_DIGITS:
        raise InvalidInput(field, f"has more than {MAX_DIGITS} digits")
    return number


def _read_number(value: object, field: str) -> Decimal:
    if isinstance(value, bool):
        raise InvalidInput(field, "must be a number, not a boolean")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(field, "must be a finite number")
        return Decimal(str(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidInput(field, "must be a finite number")
        return value
    if isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value):
            raise InvalidInput(field, f"must be a decimal number, got {value!r}")
        try:
            return Decimal(value)
        except ArithmeticError:  # an exponent past what Decimal itself can hold
            raise InvalidInput(field, "is out of range") from None
    raise InvalidInput(field, f"must be a number, got {type(value).__name__}")
