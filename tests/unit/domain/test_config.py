from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

import pytest

from domain.config import (
    DCA_PRESETS,
    TP_TEMPLATES,
    DcaLevel,
    ParsedConfig,
    TakeProfitLevel,
    TradingConfig,
    dca_levels,
    parse_config,
    take_profit_levels,
)
from domain.errors import InvalidConfig
from tests.unit.domain.helpers import TOKEN, config


def errors_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidConfig) as info:
        TradingConfig.from_dict(data)
    return info.value.errors


def paths_of(data: dict[str, Any]) -> list[str]:
    return [path for path, _ in errors_of(data)]


def test_defaults_match_spec() -> None:
    c = TradingConfig.default()
    assert TradingConfig.from_dict(None) == c == TradingConfig.from_dict({})
    assert c.purchase_limits.minimum_agent_balance == D("0.5")
    assert c.purchase_limits.max_purchase_per_token == D("2.0")
    assert c.purchase_limits.max_price_impact is None
    assert c.signals.min_score == 1
    assert c.signals.allowed_signal_types == () and c.signals.token_list == ()
    assert c.signals.token_filter_mode == "none"
    assert c.signals.market_cap_min is None and c.signals.holder_count_max is None
    assert (c.stop_loss.enabled, c.stop_loss.default_percentage, c.stop_loss.mode) == (
        True, D(-32), "fixed")
    assert c.stop_loss.trailing_levels == ()
    thresholds = c.position_calculator.sol_balance_thresholds
    assert (thresholds.minimum, thresholds.medium, thresholds.large) == (D("0.2"), D(5), D(10))
    sizes = c.position_calculator.position_sizes
    assert (sizes.small.min, sizes.small.max) == (D("0.1"), D("0.1"))
    assert (sizes.medium.min, sizes.medium.max) == (D("0.5"), D("1.0"))
    assert (sizes.large.min, sizes.large.max) == (D("1.5"), D("2.0"))
    assert c.position_calculator.randomization.enabled is True
    stale = c.stale_trade
    assert (stale.enabled, stale.min_hold_time_minutes) == (True, 60)
    assert (stale.min_profit_percent, stale.max_profit_percent) == (D(1), D(10))
    assert (c.dca.enabled, c.dca.mode, c.dca.levels) == (False, "moderate", ())
    assert (c.dca.max_dca_count, c.dca.cooldown_seconds) == (3, 30)
    assert (c.take_profit.enabled, c.take_profit.mode) == (False, "moderate")
    assert c.take_profit.levels == TP_TEMPLATES["moderate"].levels
    moon = c.take_profit.moon_bag
    assert (moon.enabled, moon.trigger_percent, moon.retain_percent) == (True, D(300), D(10))


def test_to_dict_is_camel_case_json_and_round_trips() -> None:
    data = TradingConfig.default().to_dict()
    assert set(data) == {"purchaseLimits", "signals", "stopLoss", "positionCalculator",
                         "staleTrade", "dca", "takeProfit"}
    assert data["dca"]["maxDCACount"] == 3
    assert data["positionCalculator"]["solBalanceThresholds"]["medium"] == "5"
    assert data["stopLoss"]["defaultPercentage"] == "-32"
    assert TradingConfig.from_dict(json.loads(json.dumps(data))) == TradingConfig.default()


def test_custom_config_round_trips() -> None:
    c = config(
        purchaseLimits={"maxPriceImpact": "0.05"},
        signals={"tokenFilterMode": "whitelist", "tokenList": [TOKEN], "marketCapMin": 1000,
                 "holderCountMax": 500, "allowedSignalTypes": ["buy"]},
        stopLoss={"mode": "custom", "trailingLevels": [{"change": 100, "stopLoss": 60},
                                                       {"change": 50, "stopLoss": 25}]},
        dca={"enabled": True, "mode": "custom", "levels": [{"dropPercent": -30, "buyPercent": 50},
                                                           {"dropPercent": -10, "buyPercent": 20}]},
        takeProfit={"mode": "custom", "levels": [{"targetPercent": 10, "sellPercent": 50}],
                    "moonBag": {"enabled": False}},
    )
    assert TradingConfig.from_dict(c.to_dict()) == c
    assert c.signals.holder_count_max == 500 and isinstance(c.signals.holder_count_max, int)


def test_deep_merge_objects_merge_arrays_replace() -> None:
    c = config(positionCalculator={"solBalanceThresholds": {"medium": 6}},
               takeProfit={"levels": [{"targetPercent": 20, "sellPercent": 10}]})
    thresholds = c.position_calculator.sol_balance_thresholds
    assert (thresholds.minimum, thresholds.medium, thresholds.large) == (D("0.2"), D(6), D(10))
    default_sizes = TradingConfig.default().position_calculator.position_sizes
    assert c.position_calculator.position_sizes == default_sizes
    assert c.take_profit.levels == (TakeProfitLevel(D(20), D(10)),)


def test_numbers_as_int_float_or_string() -> None:
    c = config(purchaseLimits={"minimumAgentBalance": 0.3, "maxPurchasePerToken": "1.25"},
               staleTrade={"minHoldTimeMinutes": 90.0}, dca={"cooldownSeconds": 45.5})
    assert c.purchase_limits.minimum_agent_balance == D("0.3")
    assert str(c.purchase_limits.minimum_agent_balance) == "0.3"
    assert c.purchase_limits.max_purchase_per_token == D("1.25")
    assert c.stale_trade.min_hold_time_minutes == 90
    assert c.dca.cooldown_seconds == D("45.5")


@pytest.mark.parametrize("text", ["0.5", ".5", "5.", "+2", "1e5", "-1.5E-3", "007"])
def test_decimal_strings_as_the_rules_define_them(text: str) -> None:
    c = config(staleTrade={"maxProfitPercent": text, "minProfitPercent": "-100"})
    assert c.stale_trade.max_profit_percent == D(text)


@pytest.mark.parametrize("text", [" 5", "5 ", "1_000", "NaN", "Infinity", "-inf", "0x10",
                                  "\u0663", "1,5", "", ".", "e5", "5e", "++2"])
def test_other_strings_are_not_numbers(text: str) -> None:
    assert paths_of({"staleTrade": {"maxProfitPercent": text}}) == [
        "staleTrade.maxProfitPercent"]


def test_integers_stay_integers() -> None:
    c = config(signals={"minScore": "50", "holderCountMin": 10.0, "holderCountMax": "1e3"},
               dca={"maxDCACount": 2.0})
    assert (c.signals.min_score, c.signals.holder_count_min, c.signals.holder_count_max,
            c.dca.max_dca_count) == (50, 10, 1000, 2)
    assert all(isinstance(n, int) for n in (c.signals.min_score, c.dca.max_dca_count))
    assert paths_of({"signals": {"minScore": 50.5, "holderCountMin": "0.5"},
                     "dca": {"maxDCACount": "2.5"}}) == [
        "signals.minScore", "signals.holderCountMin", "dca.maxDCACount"]


def test_continuous_trailing_is_dropped_with_a_warning() -> None:
    sent = {"stopLoss": {"enabled": True, "continuousTrailing": True}, "dca": {"enabled": False}}
    parsed = parse_config(sent)
    assert [str(w) for w in parsed.warnings] == [
        "stopLoss.continuousTrailing: obsolete (the stop loss always trails), ignored"]
    assert parsed.data == {"stopLoss": {"enabled": True}, "dca": {"enabled": False}}
    assert sent["stopLoss"] == {"enabled": True, "continuousTrailing": True}  # not mutated
    assert parsed.config == TradingConfig.from_dict(sent) == TradingConfig.from_dict(parsed.data)
    assert "continuousTrailing" not in json.dumps(parsed.config.to_dict())


def test_parse_config_without_obsolete_keys_warns_nothing() -> None:
    assert parse_config(None) == ParsedConfig(TradingConfig.default(), (), None)
    parsed = parse_config({"dca": {"enabled": True}})
    assert parsed.warnings == () and parsed.data == {"dca": {"enabled": True}}
    # continuousTrailing anywhere else is an unknown key like any other
    assert paths_of({"dca": {"continuousTrailing": True}}) == ["dca.continuousTrailing"]
    assert paths_of({"continuousTrailing": True}) == ["continuousTrailing"]


def test_trailing_level_order_is_checked_in_custom_mode_only() -> None:
    unordered = [{"change": 10, "stopLoss": 5}, {"change": 50, "stopLoss": 30},
                 {"change": 50, "stopLoss": 40}]
    for mode in ("fixed", "zones", "exponential"):
        assert config(stopLoss={"mode": mode, "trailingLevels": unordered}).stop_loss.mode == mode
    assert paths_of({"stopLoss": {"mode": "custom", "trailingLevels": unordered}}) == [
        "stopLoss.trailingLevels[1].change", "stopLoss.trailingLevels[2].change"]


def test_unknown_keys_rejected_naming_the_path() -> None:
    assert paths_of({"stopLoss": {"defaultPercentag": -10}}) == ["stopLoss.defaultPercentag"]
    assert paths_of({"stoploss": {}}) == ["stoploss"]
    assert paths_of({"dca": {"levels": [{"dropPercent": -10, "buyPercent": 10, "x": 1}]}}) == [
        "dca.levels[0].x"]


def test_every_error_is_listed() -> None:
    errors = errors_of({
        "purchaseLimits": {"minimumAgentBalance": "0.09", "maxPurchasePerToken": 0},
        "signals": {"minScore": 101, "tokenFilterMode": "grey"},
        "dca": {"maxDCACount": 11, "cooldownSeconds": 9},
        "extra": True,
    })
    assert [path for path, _ in errors] == [
        "purchaseLimits.minimumAgentBalance", "purchaseLimits.maxPurchasePerToken",
        "signals.minScore", "signals.tokenFilterMode", "dca.maxDCACount", "dca.cooldownSeconds",
        "extra",
    ]
    assert all(message for _, message in errors)
    assert "purchaseLimits.minimumAgentBalance: must be >= 0.1" in str(
        InvalidConfig(errors))


BOUNDS = [
    # (section, key, valid edge values, invalid values)
    ("purchaseLimits", "minimumAgentBalance", ["0.1", 100, "1e9"], ["0.0999", -1, "1000000000.01"]),
    ("purchaseLimits", "maxPurchasePerToken", ["0.00000001", 10**9], [0, "-1", 10**9 + 1]),
    ("purchaseLimits", "maxPriceImpact", ["0.0001", 1, None], [0, "1.01"]),
    ("signals", "minScore", [1, 100, "50", 50.0], [0, 101, "1.5", 50.5]),
    ("signals", "marketCapMin", ["0.01", None, "1e11"], [0, -5, "100000000000.5"]),
    ("signals", "liquidityMax", ["1", 10**11], [0, 10**11 + 1]),
    ("signals", "holderCountMin", [0, 10, 10**9], [-1, "2.5", 10**9 + 1]),
    ("signals", "holderCountMax", [10**9, None], [10**9 + 1, 0.5]),
    ("stopLoss", "defaultPercentage", [-100, 0, "-32.5"], ["-100.01", "0.01"]),
    ("staleTrade", "minHoldTimeMinutes", [1, "1.5", 90.5, 525600],
     [0, "0.99", "525600.01", 10**15, "1000000000000000"]),
    ("staleTrade", "minProfitPercent", [-10**6, 0], [-10**6 - 1, "-1e7"]),
    ("staleTrade", "maxProfitPercent", [10**6, 5], ["1000000.0001", 10**9]),
    ("dca", "maxDCACount", [1, 10], [0, 11, 2.5]),
    ("dca", "cooldownSeconds", [10, 3600, 10.5, "99.25"], [9, 3601, "9.99"]),
    ("takeProfit", "moonBag", [{"triggerPercent": 1}, {"retainPercent": 50}],
     [{"triggerPercent": 0}, {"triggerPercent": 10001}, {"retainPercent": "50.5"}]),
]


@pytest.mark.parametrize(("section", "key", "good", "wrong"), BOUNDS)
def test_bounds(section: str, key: str, good: list[Any], wrong: list[Any]) -> None:
    for value in good:
        TradingConfig.from_dict({section: {key: value}})
    for value in wrong:
        paths = paths_of({section: {key: value}})
        assert len(paths) == 1 and paths[0].startswith(f"{section}.{key}"), (value, paths)


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"stopLoss": {"enabled": "yes"}}, "stopLoss.enabled"),
        ({"stopLoss": {"mode": "trailing"}}, "stopLoss.mode"),
        ({"stopLoss": 5}, "stopLoss"),
        ({"signals": {"allowedSignalTypes": "buy"}}, "signals.allowedSignalTypes"),
        ({"signals": {"allowedSignalTypes": ["x" * 51]}}, "signals.allowedSignalTypes[0]"),
        ({"signals": {"allowedSignalTypes": [""]}}, "signals.allowedSignalTypes[0]"),
        ({"signals": {"tokenList": [TOKEN, "bad!"]}}, "signals.tokenList[1]"),
        ({"dca": {"levels": [{"dropPercent": 0, "buyPercent": 10}]}}, "dca.levels[0].dropPercent"),
        ({"dca": {"levels": [{"dropPercent": -100, "buyPercent": 10}]}},
         "dca.levels[0].dropPercent"),
        ({"dca": {"levels": [{"dropPercent": -10, "buyPercent": 501}]}},
         "dca.levels[0].buyPercent"),
        ({"dca": {"levels": [{"dropPercent": -10}]}}, "dca.levels[0].buyPercent"),
        ({"stopLoss": {"trailingLevels": [{"change": 0, "stopLoss": 1}]}},
         "stopLoss.trailingLevels[0].change"),
        ({"stopLoss": {"trailingLevels": [{"change": "1000000.01", "stopLoss": 1}]}},
         "stopLoss.trailingLevels[0].change"),
        ({"positionCalculator": {"solBalanceThresholds": {"large": "1000000001"}}},
         "positionCalculator.solBalanceThresholds.large"),
        ({"positionCalculator": {"positionSizes": {"large": {"max": "1000000001"}}}},
         "positionCalculator.positionSizes.large.max"),
        ({"stopLoss": {"trailingLevels": [{"change": 5, "stopLoss": 1001}]}},
         "stopLoss.trailingLevels[0].stopLoss"),
        ({"takeProfit": {"levels": [{"targetPercent": 0, "sellPercent": 10}]}},
         "takeProfit.levels[0].targetPercent"),
        ({"takeProfit": {"levels": [{"targetPercent": 10, "sellPercent": 101}]}},
         "takeProfit.levels[0].sellPercent"),
        ({"takeProfit": {"levels": [{"targetPercent": i + 1, "sellPercent": 1}
                                    for i in range(11)]}}, "takeProfit.levels"),
    ],
)
def test_field_errors(data: dict[str, Any], path: str) -> None:
    assert paths_of(data) == [path]


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"signals": {"marketCapMin": 10, "marketCapMax": 5}}, "signals.marketCapMax"),
        ({"signals": {"liquidityMin": 10, "liquidityMax": 9}}, "signals.liquidityMax"),
        ({"signals": {"holderCountMin": 10, "holderCountMax": 9}}, "signals.holderCountMax"),
        ({"positionCalculator": {"solBalanceThresholds": {"medium": 10}}},
         "positionCalculator.solBalanceThresholds.large"),
        ({"positionCalculator": {"solBalanceThresholds": {"minimum": 5}}},
         "positionCalculator.solBalanceThresholds.medium"),
        ({"positionCalculator": {"positionSizes": {"small": {"min": 1, "max": "0.5"}}}},
         "positionCalculator.positionSizes.small.max"),
        ({"staleTrade": {"minProfitPercent": 11}}, "staleTrade.maxProfitPercent"),
        ({"stopLoss": {"mode": "custom"}}, "stopLoss.trailingLevels"),
        ({"stopLoss": {"mode": "custom", "trailingLevels": [{"change": 50, "stopLoss": 1},
                                                            {"change": 50, "stopLoss": 2}]}},
         "stopLoss.trailingLevels[1].change"),
        ({"dca": {"enabled": True, "mode": "custom"}}, "dca.levels"),
        ({"takeProfit": {"mode": "custom", "levels": [
            {"targetPercent": 50, "sellPercent": 10}, {"targetPercent": 50, "sellPercent": 10}]}},
         "takeProfit.levels[1].targetPercent"),
        ({"takeProfit": {"mode": "custom", "levels": [
            {"targetPercent": 50, "sellPercent": 50}, {"targetPercent": 60, "sellPercent": 41}]}},
         "takeProfit.levels"),
        ({"takeProfit": {"enabled": True, "mode": "custom", "levels": []}}, "takeProfit.levels"),
    ],
)
def test_cross_field_rules(data: dict[str, Any], path: str) -> None:
    assert paths_of(data) == [path]


def test_cross_field_rules_only_where_spec_says() -> None:
    config(dca={"enabled": False, "mode": "custom"})  # custom DCA needs levels only when enabled
    config(dca={"enabled": True, "mode": "custom",
                "levels": [{"dropPercent": -10, "buyPercent": 10},
                           {"dropPercent": -30, "buyPercent": 10},
                           {"dropPercent": -20, "buyPercent": 10}]})  # any order
    # Σ sell + retain and ascending targets are checked in custom mode only
    config(takeProfit={"mode": "moderate", "levels": [
        {"targetPercent": 50, "sellPercent": 100}, {"targetPercent": 10, "sellPercent": 100}]})
    # sums to exactly 100 with the moon bag; without it the retain does not count
    config(takeProfit={"mode": "custom", "levels": [{"targetPercent": 50, "sellPercent": 90}]})
    config(takeProfit={"mode": "custom", "moonBag": {"enabled": False},
                       "levels": [{"targetPercent": 50, "sellPercent": 100}]})
    assert paths_of({"takeProfit": {"mode": "custom", "levels": [
        {"targetPercent": 50, "sellPercent": 91}]}}) == ["takeProfit.levels"]


def test_root_must_be_an_object() -> None:
    with pytest.raises(InvalidConfig) as info:
        TradingConfig.from_dict([1])  # type: ignore[arg-type]
    assert info.value.errors == [("$", "must be an object")]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("aggressive", [(-10, 100)] * 3), ("moderate", [(-20, 75)] * 2),
     ("conservative", [(-20, 100)])],
)
def test_dca_presets(mode: str, expected: list[tuple[int, int]]) -> None:
    levels = dca_levels(config(dca={"mode": mode, "levels": [
        {"dropPercent": -5, "buyPercent": 5}]}))
    assert levels == tuple(DcaLevel(D(a), D(b)) for a, b in expected) == DCA_PRESETS[mode]


def test_custom_dca_levels_sorted_least_negative_first() -> None:
    c = config(dca={"mode": "custom", "levels": [
        {"dropPercent": -30, "buyPercent": 1}, {"dropPercent": -10, "buyPercent": 2},
        {"dropPercent": -20, "buyPercent": 3}]})
    assert [level.drop_percent for level in dca_levels(c)] == [D(-10), D(-20), D(-30)]


@pytest.mark.parametrize(
    ("mode", "levels", "trigger", "retain"),
    [
        ("aggressive", [(25, 25), (50, 25), (100, 25), (150, 15)], 100, 10),
        ("moderate", [(50, 25), (150, 25), (300, 25), (400, 15)], 300, 10),
        ("conservative", [(100, 20), (200, 20), (400, 25), (600, 20)], 400, 15),
    ],
)
def test_take_profit_templates(
    mode: str, levels: list[tuple[int, int]], trigger: int, retain: int
) -> None:
    plan = take_profit_levels(config(takeProfit={
        "mode": mode, "moonBag": {"enabled": False, "triggerPercent": 7, "retainPercent": 7}}))
    assert plan.levels == tuple(TakeProfitLevel(D(t), D(s)) for t, s in levels)
    assert (plan.moon_bag_trigger_percent, plan.moon_bag_retain_percent) == (D(trigger), D(retain))
    assert plan.moon_bag_enabled is False  # the enabled flag always comes from the config


def test_custom_take_profit_plan_from_config() -> None:
    plan = take_profit_levels(config(takeProfit={
        "mode": "custom", "levels": [{"targetPercent": 10, "sellPercent": 20}],
        "moonBag": {"triggerPercent": 70, "retainPercent": 30}}))
    assert plan.levels == (TakeProfitLevel(D(10), D(20)),)
    assert (plan.moon_bag_enabled, plan.moon_bag_trigger_percent,
            plan.moon_bag_retain_percent) == (True, D(70), D(30))


@pytest.mark.parametrize("text", ["\x00", "buy\ud800"])
def test_signal_types_postgresql_cannot_store_are_refused(text: str) -> None:
    assert paths_of({"signals": {"allowedSignalTypes": ["buy", text]}}) == [
        "signals.allowedSignalTypes[1]"]


def test_numbers_past_decimal_are_refused_by_field() -> None:
    assert paths_of({"purchaseLimits": {"minimumAgentBalance": "1e9999999999999999999999"}}) == [
        "purchaseLimits.minimumAgentBalance"]
    zero = TradingConfig.from_dict({"stopLoss": {"defaultPercentage": "0e-999999999999999999"}})
    assert json.dumps(zero.to_dict(), default=str)  # prints: no 10^18-digit string
