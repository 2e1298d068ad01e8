from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D
from typing import Any

from domain import take_profit
from domain.config import TP_TEMPLATES, TakeProfitLevel, TradingConfig
from domain.positions import Position
from tests.unit.domain.helpers import T0, config, position

NOW = T0 + timedelta(hours=2)
MODERATE = TP_TEMPLATES["moderate"].levels


def on(**section: Any) -> TradingConfig:
    return config(takeProfit={"enabled": True, **section})


def custom(levels: list[tuple[int, int]], **moon: Any) -> TradingConfig:
    return on(mode="custom", levels=[{"targetPercent": t, "sellPercent": s} for t, s in levels],
              moonBag=moon)


def ev(
    pos: Position, price: str, cfg: TradingConfig | None = None
) -> take_profit.TakeProfitDecision:
    return take_profit.evaluate(pos, D(price), cfg or on())


def test_disabled() -> None:
    decision = ev(position(), "1", config())
    assert (decision.execute, decision.reason, decision.sell_amount) == (False, "tp_disabled", D(0))


def test_below_the_first_level() -> None:
    decision = ev(position(), "0.00149999")
    assert (decision.execute, decision.reason, decision.new_remaining) == (
        False, "below_next_level", D(1000))


def test_first_level_is_inclusive() -> None:
    decision = ev(position(), "0.0015")  # +50 %
    assert decision == take_profit.TakeProfitDecision(
        True, (MODERATE[0],), D(250), False, None, D(750), "take_profit", False)


def test_multi_level_jump_sells_every_reached_level_at_once() -> None:
    decision = ev(position(), "0.0026")  # +160 %: levels 50 and 150
    assert decision.levels == MODERATE[:2]
    assert (decision.sell_amount, decision.new_remaining) == (D(500), D(500))
    assert decision.activate_moon_bag is False


def test_moon_bag_activates_at_the_trigger_with_a_sale() -> None:
    decision = ev(position(), "0.004")  # +300 %: three levels, moon trigger 300
    assert decision.levels == MODERATE[:3]
    assert (decision.activate_moon_bag, decision.moon_bag_amount) == (True, D(100))
    assert (decision.sell_amount, decision.new_remaining) == (D(750), D(250))


def test_all_levels_at_once_keeps_the_moon_bag() -> None:
    decision = ev(position(), "0.01")
    assert decision.levels == MODERATE
    assert (decision.sell_amount, decision.new_remaining, decision.moon_bag_amount) == (
        D(900), D(100), D(100))
    assert decision.close_position is False


def test_next_level_continues_from_levels_hit() -> None:
    pos = position(take_profit_levels_hit=1, remaining_amount=D(750))
    assert ev(pos, "0.0024").reason == "below_next_level"
    decision = ev(pos, "0.0025")  # +150 %
    assert (decision.levels, decision.sell_amount, decision.new_remaining) == (
        (MODERATE[1],), D(250), D(500))


def test_moon_bag_activates_when_the_last_level_is_reached_below_the_trigger() -> None:
    cfg = custom([(10, 30), (20, 40)], triggerPercent=500, retainPercent=20)
    decision = ev(position(), "0.0012", cfg)
    assert (decision.activate_moon_bag, decision.moon_bag_amount) == (True, D(200))
    assert (decision.sell_amount, decision.new_remaining) == (D(700), D(300))
    not_last = ev(position(), "0.0011", cfg)
    assert (not_last.activate_moon_bag, not_last.sell_amount) == (False, D(300))


def test_active_moon_bag_is_never_sold() -> None:
    pos = position(take_profit_levels_hit=3, remaining_amount=D(250), moon_bag_activated=True,
                   moon_bag_amount=D(100))
    decision = ev(pos, "0.005")  # +400 %: the last level, 15 % of 1000
    assert (decision.sell_amount, decision.new_remaining) == (D(150), D(100))
    assert decision.activate_moon_bag is False and decision.moon_bag_amount == D(100)


def test_sale_capped_by_what_is_held_above_the_moon_bag() -> None:
    pos = position(take_profit_levels_hit=3, remaining_amount=D(120), moon_bag_activated=True,
                   moon_bag_amount=D(100))
    assert ev(pos, "0.005").sell_amount == D(20)


def test_only_moon_bag_left() -> None:
    pos = position(take_profit_levels_hit=3, remaining_amount=D(100), moon_bag_activated=True,
                   moon_bag_amount=D(100))
    assert ev(pos, "0.005").reason == "only_moon_bag"


def test_levels_exhausted() -> None:
    assert ev(position(take_profit_levels_hit=4), "1").reason == "levels_exhausted"
    pos = position(take_profit_levels_hit=6, tp_batch_start_level=2, total_take_profit_levels=6)
    assert ev(pos, "1").reason == "levels_exhausted"


def test_no_moon_bag_selling_everything_closes() -> None:
    cfg = custom([(10, 60), (20, 40)], enabled=False)
    decision = ev(position(), "0.0012", cfg)
    assert (decision.sell_amount, decision.new_remaining, decision.close_position) == (
        D(1000), D(0), True)
    assert decision.moon_bag_amount is None


def test_dust_left_is_sold_and_closes() -> None:
    cfg = custom([(10, 100)], enabled=False)
    pos = position(purchase_amount=D("1000"), remaining_amount=D("1000.0000000005"))
    decision = ev(pos, "0.0011", cfg)
    assert (decision.sell_amount, decision.new_remaining, decision.close_position) == (
        D("1000.0000000005"), D(0), True)


def test_preset_mode_ignores_configured_levels() -> None:
    cfg = on(mode="aggressive", levels=[{"targetPercent": 1, "sellPercent": 1}])
    assert ev(position(), "0.00125", cfg).levels == (TakeProfitLevel(D(25), D(25)),)


def test_append_levels_after_dca() -> None:
    # 1000 @ 0.001, TP sold levels 1–2 (500 tokens), then DCA bought 600 for 0.5 SOL:
    pos = position(purchase_price=D("0.0009375"), purchase_amount=D(1600),
                   remaining_amount=D(1100), total_invested_sol=D("1.5"), dca_count=1,
                   take_profit_levels_hit=2, tp_batch_start_level=2, total_take_profit_levels=6)
    assert ev(pos, "0.0014").reason == "below_next_level"  # +49.33 % of the new average
    decision = ev(pos, "0.00140625")  # +50 % of the new average: fresh ladder level 1
    assert decision.levels == (MODERATE[0],)
    assert (decision.sell_amount, decision.new_remaining) == (D(400), D(700))
    later = ev(pos, "1")
    assert later.levels == MODERATE  # far above: the whole fresh ladder at once
    # 90 % of 1600 is more than is held: capped so the moon bag (10 % of 1600) stays
    assert (later.sell_amount, later.moon_bag_amount) == (D(940), D(160))


def test_apply_sale() -> None:
    pos = position()
    decision = ev(pos, "0.004")
    after = take_profit.apply_sale(pos, decision, D("2.9"), NOW)
    assert after.take_profit_levels_hit == 3
    assert after.remaining_amount == D(250)
    assert (after.moon_bag_activated, after.moon_bag_amount) == (True, D(100))
    assert after.realized_profit_sol == D("2.15")  # 2.9 − 750/1000 × 1.0
    assert after.updated_at == NOW
    again = take_profit.apply_sale(after, ev(after, "0.005"), D("0.74"), NOW)
    assert again.take_profit_levels_hit == 4 and again.remaining_amount == D(100)
    assert again.realized_profit_sol == D("2.15") + D("0.59")  # 0.74 − 150/1000 × 1.0


def test_apply_sale_of_a_hold_changes_nothing() -> None:
    pos = position()
    assert take_profit.apply_sale(pos, ev(pos, "0.001"), D(0), NOW) is pos


def test_zero_purchase_amount_has_zero_cost_basis() -> None:
    pos = position(purchase_amount=D(0), remaining_amount=D(0))
    decision = take_profit.TakeProfitDecision(True, (MODERATE[0],), D(0), False, None, D(0),
                                              "take_profit")
    assert take_profit.apply_sale(pos, decision, D("0.1"), NOW).realized_profit_sol == D("0.1")


def test_no_action_reasons_in_their_order() -> None:
    """tp_disabled, levels_exhausted, only_moon_bag, below_next_level: the first that holds."""
    bag = {"remaining_amount": D(100), "moon_bag_activated": True, "moon_bag_amount": D(100)}
    exhausted_bag = position(take_profit_levels_hit=4, **bag)
    assert ev(exhausted_bag, "0.001", config()).reason == "tp_disabled"
    assert ev(exhausted_bag, "0.001").reason == "levels_exhausted"
    assert ev(position(take_profit_levels_hit=1, **bag), "0.001").reason == "only_moon_bag"
    assert ev(position(take_profit_levels_hit=1), "0.001").reason == "below_next_level"
