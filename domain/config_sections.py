"""The sections of an agent's trading config (docs/rules.md §13), with every default and bound, and
the DCA presets (docs/rules.md §6) and take-profit templates (docs/rules.md §8). Attributes are
snake_case; each field names its camelCase JSON key."""

# ``spec`` returns ``dataclasses.field(...)`` (a field specifier), which RUF009 cannot see.
# ruff: noqa: RUF009

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal as D
from typing import Any

from domain.config_fields import Choice, Dec, Flag, Items, Obj, Strs, ordered, spec

Problems = list[tuple[str, str]]

# Upper bounds (docs/rules.md §13): every number a config holds is bounded so that every rule
# stays finite and every result fits its column (SOL NUMERIC(20,8), percent NUMERIC(12,4)).
MAX_SOL = D("1000000000")  # 1e9 SOL: more than all the SOL there is
MAX_USD = D("100000000000")  # 1e11 USD: market cap and liquidity bounds
MAX_COUNT = D("1000000000")  # holders
MAX_PERCENT = D("1000000")  # 1e6 %: a 10,000-fold move
MAX_HOLD_MINUTES = D("525600")  # a year

_SOL = Dec(gt=D(0), le=MAX_SOL)
_USD = Dec(gt=D(0), le=MAX_USD, optional=True)
_COUNT = Dec(ge=D(0), le=MAX_COUNT, optional=True, integer=True)
_PERCENT = Dec(ge=-MAX_PERCENT, le=MAX_PERCENT)


@dataclass(frozen=True)
class PurchaseLimits:
    minimum_agent_balance: D = spec(
        "minimumAgentBalance", Dec(ge=D("0.1"), le=MAX_SOL), D("0.5")
    )
    max_purchase_per_token: D = spec("maxPurchasePerToken", _SOL, D("2.0"))
    max_price_impact: D | None = spec(  # a fraction: 0.05 = 5 %
        "maxPriceImpact", Dec(gt=D(0), le=D(1), optional=True), None
    )


@dataclass(frozen=True)
class SignalsConfig:
    min_score: int = spec("minScore", Dec(ge=D(1), le=D(100), integer=True), 1)
    allowed_signal_types: tuple[str, ...] = spec("allowedSignalTypes", Strs(max_len=50), ())
    token_filter_mode: str = spec(
        "tokenFilterMode", Choice(("none", "blacklist", "whitelist")), "none"
    )
    token_list: tuple[str, ...] = spec("tokenList", Strs(max_len=44, mint=True), ())
    market_cap_min: D | None = spec("marketCapMin", _USD, None)
    market_cap_max: D | None = spec("marketCapMax", _USD, None)
    liquidity_min: D | None = spec("liquidityMin", _USD, None)
    liquidity_max: D | None = spec("liquidityMax", _USD, None)
    holder_count_min: int | None = spec("holderCountMin", _COUNT, None)
    holder_count_max: int | None = spec("holderCountMax", _COUNT, None)

    @property
    def has_metric_bounds(self) -> bool:
        return any(
            bound is not None
            for bound in (self.market_cap_min, self.market_cap_max, self.liquidity_min,
                          self.liquidity_max, self.holder_count_min, self.holder_count_max)
        )

    @staticmethod
    def cross_checks(values: Mapping[str, Any]) -> Problems:
        return [
            *ordered(values, ("market_cap_min", "marketCapMin"),
                     ("market_cap_max", "marketCapMax")),
            *ordered(values, ("liquidity_min", "liquidityMin"), ("liquidity_max", "liquidityMax")),
            *ordered(values, ("holder_count_min", "holderCountMin"),
                     ("holder_count_max", "holderCountMax")),
        ]


@dataclass(frozen=True)
class TrailingLevel:
    change: D = spec("change", Dec(gt=D(0), le=MAX_PERCENT))
    stop_loss: D = spec("stopLoss", Dec(ge=D(0), le=D(1000)))


@dataclass(frozen=True)
class StopLossConfig:
    enabled: bool = spec("enabled", Flag(), True)
    default_percentage: D = spec("defaultPercentage", Dec(ge=D(-100), le=D(0)), D(-32))
    mode: str = spec("mode", Choice(("fixed", "zones", "exponential", "custom")), "fixed")
    trailing_levels: tuple[TrailingLevel, ...] = spec("trailingLevels", Items(TrailingLevel), ())

    @staticmethod
    def cross_checks(values: Mapping[str, Any]) -> Problems:
        levels: tuple[TrailingLevel, ...] | None = values.get("trailing_levels")
        if levels is None or values.get("mode") != "custom":
            return []  # the other modes do not use the levels: their order does not matter
        problems = [
            (f"trailingLevels[{i}].change", "levels must be strictly descending by change")
            for i in range(1, len(levels))
            if levels[i].change >= levels[i - 1].change
        ]
        if not levels:
            problems.append(("trailingLevels", "custom mode needs at least one level"))
        return problems


@dataclass(frozen=True)
class SolBalanceThresholds:
    minimum: D = spec("minimum", _SOL, D("0.2"))
    medium: D = spec("medium", _SOL, D(5))
    large: D = spec("large", _SOL, D(10))

    @staticmethod
    def cross_checks(values: Mapping[str, Any]) -> Problems:
        return [
            *ordered(values, ("minimum", "minimum"), ("medium", "medium"), strict=True),
            *ordered(values, ("medium", "medium"), ("large", "large"), strict=True),
        ]


@dataclass(frozen=True)
class SizeRange:
    min: D = spec("min", Dec(ge=D(0), le=MAX_SOL))
    max: D = spec("max", Dec(ge=D(0), le=MAX_SOL))

    @staticmethod
    def cross_checks(values: Mapping[str, Any]) -> Problems:
        return ordered(values, ("min", "min"), ("max", "max"))


@dataclass(frozen=True)
class PositionSizes:
    small: SizeRange = spec("small", Obj(SizeRange), SizeRange(D("0.1"), D("0.1")))
    medium: SizeRange = spec("medium", Obj(SizeRange), SizeRange(D("0.5"), D("1.0")))
    large: SizeRange = spec("large", Obj(SizeRange), SizeRange(D("1.5"), D("2.0")))


@dataclass(frozen=True)
class Randomization:
    enabled: bool = spec("enabled", Flag(), True)


@dataclass(frozen=True)
class PositionCalculatorConfig:
    sol_balance_thresholds: SolBalanceThresholds = spec(
        "solBalanceThresholds", Obj(SolBalanceThresholds), SolBalanceThresholds()
    )
    position_sizes: PositionSizes = spec("positionSizes", Obj(PositionSizes), PositionSizes())
    randomization: Randomization = spec("randomization", Obj(Randomization), Randomization())


@dataclass(frozen=True)
class StaleTradeConfig:
    enabled: bool = spec("enabled", Flag(), True)
    # Fractional minutes and seconds are accepted (reference-engine exports carry them).
    min_hold_time_minutes: D = spec(
        "minHoldTimeMinutes", Dec(ge=D(1), le=MAX_HOLD_MINUTES), D(60)
    )
    min_profit_percent: D = spec("minProfitPercent", _PERCENT, D(1))
    max_profit_percent: D = spec("maxProfitPercent", _PERCENT, D(10))

    @staticmethod
    def cross_checks(values: Mapping[str, Any]) -> Problems:
        return ordered(
            values, ("min_profit_percent", "minProfitPercent"),
            ("max_profit_percent", "maxProfitPercent"),
        )


@dataclass(frozen=True)
class DcaLevel:
    drop_percent: D = spec("dropPercent", Dec(ge=D(-99), le=D(-1)))
    buy_percent: D = spec("buyPercent", Dec(ge=D(1), le=D(500)))


DCA_MODES = ("aggressive", "moderate", "conservative", "custom")
DCA_PRESETS: dict[str, tuple[DcaLevel, ...]] = {
    "aggressive": (DcaLevel(D(-10), D(100)),) * 3,
    "moderate": (DcaLevel(D(-20), D(75)),) * 2,
    "conservative": (DcaLevel(D(-20), D(100)),),
}


@dataclass(frozen=True)
class DcaConfig:
    enabled: bool = spec("enabled", Flag(), False)
    mode: str = spec("mode", Choice(DCA_MODES), "moderate")
    levels: tuple[DcaLevel, ...] = spec("levels", Items(DcaLevel), ())
    max_dca_count: int = spec("maxDCACount", Dec(ge=D(1), le=D(10), integer=True), 3)
    cooldown_seconds: D = spec("cooldownSeconds", Dec(ge=D(10), le=D(3600)), D(30))

    @staticmethod
    def cross_checks(values: Mapping[str, Any]) -> Problems:
        custom = values.get("mode") == "custom" and values.get("enabled") is True
        if custom and values.get("levels") == ():
            return [("levels", "custom mode needs at least one level when enabled")]
        return []


@dataclass(frozen=True)
class TakeProfitLevel:
    target_percent: D = spec("targetPercent", Dec(ge=D(1), le=D(10000)))
    sell_percent: D = spec("sellPercent", Dec(ge=D(1), le=D(100)))


@dataclass(frozen=True)
class TakeProfitTemplate:
    levels: tuple[TakeProfitLevel, ...]
    trigger_percent: D
    retain_percent: D


def _ladder(*pairs: tuple[int, int]) -> tuple[TakeProfitLevel, ...]:
    return tuple(TakeProfitLevel(D(target), D(sell)) for target, sell in pairs)


TP_MODES = ("aggressive", "moderate", "conservative", "custom")
TP_TEMPLATES: dict[str, TakeProfitTemplate] = {
    "aggressive": TakeProfitTemplate(
        _ladder((25, 25), (50, 25), (100, 25), (150, 15)), D(100), D(10)
    ),
    "moderate": TakeProfitTemplate(
        _ladder((50, 25), (150, 25), (300, 25), (400, 15)), D(300), D(10)
    ),
    "conservative": TakeProfitTemplate(
        _ladder((100, 20), (200, 20), (400, 25), (600, 20)), D(400), D(15)
    ),
}


@dataclass(frozen=True)
class MoonBagConfig:
    enabled: bool = spec("enabled", Flag(), True)
    trigger_percent: D = spec("triggerPercent", Dec(ge=D(1), le=D(10000)), D(300))
    retain_percent: D = spec("retainPercent", Dec(ge=D(1), le=D(50)), D(10))


@dataclass(frozen=True)
class TakeProfitConfig:
    enabled: bool = spec("enabled", Flag(), False)
    mode: str = spec("mode", Choice(TP_MODES), "moderate")
    levels: tuple[TakeProfitLevel, ...] = spec(
        "levels", Items(TakeProfitLevel, max_items=10), TP_TEMPLATES["moderate"].levels
    )
    moon_bag: MoonBagConfig = spec("moonBag", Obj(MoonBagConfig), MoonBagConfig())

    @staticmethod
    def cross_checks(values: Mapping[str, Any]) -> Problems:
        levels: tuple[TakeProfitLevel, ...] | None = values.get("levels")
        if values.get("mode") != "custom" or levels is None:
            return []
        # Equal targets would be one level written twice: targets must strictly ascend.
        problems = [
            (f"levels[{i}].targetPercent", "targets must be strictly ascending")
            for i in range(1, len(levels))
            if levels[i].target_percent <= levels[i - 1].target_percent
        ]
        moon: MoonBagConfig | None = values.get("moon_bag")
        retain = moon.retain_percent if moon is not None and moon.enabled else D(0)
        if sum((level.sell_percent for level in levels), retain) > 100:
            problems.append(("levels", "sell percents plus the moon-bag retain exceed 100"))
        # Mirrors DCA: an enabled custom ladder with no level could never take a profit.
        if values.get("enabled") is True and not levels:
            problems.append(("levels", "custom mode needs at least one level when enabled"))
        return problems
