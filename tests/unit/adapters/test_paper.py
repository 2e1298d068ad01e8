"""PaperSwapExecutor: fills, fees, conservation, rounding against the wallet."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput, TransientError
from domain.money import SOL_SCALE, TOKEN_SCALE
from domain.ports import PriceQuote
from tests.unit.adapters.conftest import BONK, JUP, T0
from workers.adapters.paper import PaperSwapExecutor
from workers.adapters.price_impact import PoolImpact

WALLET = "sim_wallet"


def quote(price: str, token: str = JUP) -> PriceQuote:
    return PriceQuote(token, Decimal(price), T0, "static")


def test_buy_without_slippage_or_fees() -> None:
    fill = PaperSwapExecutor(network_fee_sol=Decimal(0)).buy(
        WALLET, JUP, Decimal("1"), quote("0.004"))
    assert fill.sol_amount == Decimal("1") and fill.token_amount == Decimal("250")
    assert fill.fees_sol == 0 and fill.price_impact == 0 and fill.transaction_hash is None
    assert fill.swap_payload is not None and fill.swap_payload["mode"] == "paper"


def test_buy_with_slippage_fee_and_impact() -> None:
    executor = PaperSwapExecutor(slippage_bps=100, protocol_fee_bps=25,
                                 impact=PoolImpact(Reserves({JUP: Decimal(998)})))
    fill = executor.buy(WALLET, JUP, Decimal("2"), quote("0.01"))
    assert fill.sol_amount == Decimal("2.00000000")
    assert fill.token_amount == (Decimal(2) / Decimal("0.0101")).quantize(
        TOKEN_SCALE, rounding="ROUND_DOWN")
    assert fill.protocol_fee_sol == Decimal("0.005")
    assert fill.network_fee_sol == Decimal("0.000005")
    assert fill.slippage == Decimal("0.01") and fill.price_impact == Decimal("0.002")
    assert executor.price_impact(JUP, Decimal("2"), quote("0.01")) == Decimal("0.002")


def test_sell_gross_before_fees() -> None:
    executor = PaperSwapExecutor(slippage_bps=200, protocol_fee_bps=100)
    fill = executor.sell(WALLET, JUP, Decimal("1000"), quote("0.001"))
    assert fill.sol_amount == Decimal("0.98")  # 1000 × 0.001 × 0.98
    assert fill.protocol_fee_sol == Decimal("0.0098")
    assert fill.network_fee_sol == Decimal("0.000005")
    assert fill.sol_amount - fill.fees_sol == Decimal("0.970195")


def test_sol_rounded_down_fees_rounded_up() -> None:
    executor = PaperSwapExecutor(protocol_fee_bps=1, network_fee_sol=Decimal("0.0000000001"))
    fill = executor.sell(WALLET, JUP, Decimal("3"), quote("0.0000000333333333"))
    assert fill.sol_amount == Decimal("0.00000009")  # 0.0000000999999999 down
    assert fill.protocol_fee_sol == Decimal("0.00000001")  # 9e-12 up
    assert fill.network_fee_sol == Decimal("0.00000001")


class Reserves:
    """A pool source with fixed SOL reserves, counting its requests."""

    def __init__(self, reserves: dict[str, Decimal], fail: bool = False) -> None:
        self.reserves, self.fail, self.requests = reserves, fail, 0

    def sol_reserves(self, tokens: Sequence[str]) -> dict[str, Decimal]:
        self.requests += 1
        if self.fail:
            raise TransientError("dexscreener: down")
        return {t: self.reserves[t] for t in tokens if t in self.reserves}


def test_no_model_means_no_impact() -> None:
    assert PaperSwapExecutor().price_impact(JUP, Decimal(100), quote("1")) == 0
    assert PaperSwapExecutor().buy(WALLET, JUP, Decimal(100), quote("1")).price_impact == 0


def test_the_impact_is_the_pools_not_a_made_up_depth() -> None:
    executor = PaperSwapExecutor(impact=PoolImpact(Reserves({JUP: Decimal(99)})))
    assert executor.price_impact(JUP, Decimal(1), quote("1")) == Decimal("0.01")  # 1/(99+1)
    fill = executor.sell(WALLET, JUP, Decimal(11), quote("1"))  # 11 SOL worth: 11/110
    assert fill.price_impact == Decimal("0.1")


def test_an_unmeasurable_impact_never_passes_a_limit_and_an_outage_never_blocks_a_fill() -> None:
    unknown = PaperSwapExecutor(impact=PoolImpact(Reserves({})))
    assert unknown.price_impact(JUP, Decimal(1), quote("1")) == 1
    assert unknown.buy(WALLET, JUP, Decimal(1), quote("1")).price_impact == 0
    down = PaperSwapExecutor(impact=PoolImpact(Reserves({JUP: Decimal(1)}, fail=True)))
    with pytest.raises(TransientError):
        down.price_impact(JUP, Decimal(1), quote("1"))
    assert down.sell(WALLET, JUP, Decimal(5), quote("1")).sol_amount == Decimal(5)


def test_large_amounts_quantise_in_a_wide_context() -> None:
    fill = PaperSwapExecutor().buy(WALLET, BONK, Decimal("5000"), quote("1E-10", BONK))
    assert fill.token_amount == Decimal("50000000000000")


def test_dust_sell_can_fill_for_zero_sol() -> None:
    fill = PaperSwapExecutor().sell(WALLET, JUP, Decimal("1E-12"), quote("0.001"))
    assert fill.sol_amount == 0 and fill.token_amount == Decimal("1E-12")


@pytest.mark.parametrize(("call", "field"), [
    (lambda ex: ex.buy(WALLET, JUP, Decimal(0), quote("1")), "sol_amount"),
    (lambda ex: ex.buy(WALLET, JUP, Decimal(-1), quote("1")), "sol_amount"),
    (lambda ex: ex.buy(WALLET, JUP, 1.0, quote("1")), "sol_amount"),
    (lambda ex: ex.buy(WALLET, JUP, Decimal(1), quote("0")), "price.price_sol"),
    (lambda ex: ex.buy(WALLET, JUP, Decimal(1), quote("1", BONK)), "price.token_address"),
    (lambda ex: ex.buy(WALLET, JUP, Decimal("1E-9"), quote("1")), "amount"),
    (lambda ex: ex.buy(WALLET, JUP, Decimal("1"), quote("1E+30")), "amount"),
    (lambda ex: ex.sell(WALLET, JUP, Decimal("1E-19"), quote("1")), "amount"),
    (lambda ex: ex.sell(WALLET, JUP, Decimal("NaN"), quote("1")), "token_amount"),
])
def test_invalid_inputs(call: object, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        call(PaperSwapExecutor())  # type: ignore[operator]
    assert info.value.field == field


@pytest.mark.parametrize("kwargs", [{"slippage_bps": -1}, {"protocol_fee_bps": 10_001},
                                    {"network_fee_sol": Decimal(-1)}, {"slippage_bps": True}])
def test_bad_configuration(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        PaperSwapExecutor(**kwargs)  # type: ignore[arg-type]


amounts = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal(10_000), places=8)
prices = st.decimals(min_value=Decimal("1E-12"), max_value=Decimal(1000), places=15)
bps = st.integers(min_value=0, max_value=5_000)


@given(amount=amounts, price=prices, slip=bps, fee=bps)
def test_buy_conserves_and_never_favours_wallet(amount: Decimal, price: Decimal, slip: int,
                                                fee: int) -> None:
    with localcontext(prec=60):
        check_buy(amount, price, slip, fee)


def check_buy(amount: Decimal, price: Decimal, slip: int, fee: int) -> None:
    executor = PaperSwapExecutor(slippage_bps=slip, protocol_fee_bps=fee)
    try:
        fill = executor.buy(WALLET, JUP, amount, quote(str(price)))
    except InvalidInput:
        return  # too small to buy a single 1e-18 token unit
    debit = fill.sol_amount + fill.fees_sol
    assert fill.sol_amount == amount  # already on the 8 dp grid
    assert debit == amount + fill.protocol_fee_sol + fill.network_fee_sol
    assert fill.sol_amount == fill.sol_amount.quantize(SOL_SCALE)
    assert fill.token_amount == fill.token_amount.quantize(TOKEN_SCALE)
    fill_price = price * (1 + Decimal(slip) / 10_000)
    assert fill.token_amount * fill_price <= fill.sol_amount  # never more tokens than paid for
    assert fill.protocol_fee_sol >= fill.sol_amount * fee / 10_000


@given(tokens=st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(10**12), places=6),
       price=prices, slip=bps, fee=bps)
def test_sell_never_favours_wallet(tokens: Decimal, price: Decimal, slip: int,
                                   fee: int) -> None:
    with localcontext(prec=60):
        check_sell(tokens, price, slip, fee)


def check_sell(tokens: Decimal, price: Decimal, slip: int, fee: int) -> None:
    fill = PaperSwapExecutor(slippage_bps=slip, protocol_fee_bps=fee).sell(
        WALLET, JUP, tokens, quote(str(price)))
    assert fill.token_amount == tokens
    gross = tokens * price * (1 - Decimal(slip) / 10_000)
    assert fill.sol_amount <= gross < fill.sol_amount + SOL_SCALE
    assert fill.protocol_fee_sol >= fill.sol_amount * fee / 10_000
    assert fill.protocol_fee_sol <= fill.sol_amount


def test_sol_amount_beyond_8dp_is_rounded_down() -> None:
    fill = PaperSwapExecutor(network_fee_sol=Decimal(0)).buy(
        WALLET, JUP, Decimal("1.123456789"), quote("0.5"))
    assert fill.sol_amount == Decimal("1.12345678")
    assert fill.token_amount == Decimal("2.24691356")
