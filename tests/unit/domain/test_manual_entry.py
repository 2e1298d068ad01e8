"""``domain.entry.decide_manual``: the operator's buy (docs/rules.md §3 "Manual buy")."""

from __future__ import annotations

import random
from decimal import Decimal as D

import pytest

from domain.entry import Dca, Facts, Open, Skip, decide_manual
from tests.unit.domain.helpers import T0, config, position

RNG = random.Random(1)
FIXED = config(positionCalculator={"randomization": {"enabled": False}})


def facts(balance: str = "5", **changes: object) -> Facts:
    fields: dict[str, object] = {"price": D("0.001"), "balance": D(balance),
                                 "max_open_positions": 2, **changes}
    return Facts(FIXED, T0, **fields)  # type: ignore[arg-type]


def test_the_operators_size_opens_up_to_the_whole_balance() -> None:
    assert decide_manual(facts(), D("5"), RNG) == Open(D("5"))  # the fill adds the fees
    assert decide_manual(facts(), D("5.00000001"), RNG) == Skip("insufficient_balance")
    assert decide_manual(facts("0"), D("1"), RNG) == Skip("insufficient_balance")


def test_a_live_buy_keeps_a_margin_for_its_fees() -> None:
    assert decide_manual(facts(live=True), D("5"), RNG) == Skip("insufficient_balance")
    assert decide_manual(facts(live=True), D("4.9"), RNG) == Open(D("4.9"))


def test_the_sizing_rules_apply_only_without_an_amount() -> None:
    """Under minimumAgentBalance (0.5): the rules refuse, the operator's size does not."""
    assert decide_manual(facts("0.3"), None, RNG) == Skip("below_minimum_balance")
    assert decide_manual(facts("0.3"), D("0.2"), RNG) == Open(D("0.2"))
    assert decide_manual(facts(), None, RNG) == Open(D("1.0"))  # the medium size of §4


def test_into_an_open_position_it_is_an_added_buy_and_the_maximum_does_not_count() -> None:
    held = position()
    decided = decide_manual(facts(position=held, open_count=2), D("0.5"), RNG)
    assert isinstance(decided, Dca)
    assert (decided.position, decided.amount_sol, decided.decision.level_index) == (
        held, D("0.5"), held.dca_count)
    assert decide_manual(facts(open_count=2), D("0.5"), RNG) == Skip("max_positions")


@pytest.mark.parametrize(("changes", "reason"), [
    ({"wallet_found": False}, "wallet_not_found"), ({"key_loaded": False}, "wallet_not_loaded"),
    ({"price": None}, "price_unavailable")])
def test_a_signals_wallet_and_price_checks_come_first(changes: dict[str, object],
                                                      reason: str) -> None:
    assert decide_manual(facts("0", **changes), D("1"), RNG) == Skip(reason)
