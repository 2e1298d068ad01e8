"""An agent's trading config (docs/rules.md §13): ``TradingConfig`` and the level resolvers.

``parse_config`` deep-merges a stored (possibly partial) camelCase JSON object over the
defaults (objects merge, arrays and scalars replace), validates every bound and raises
``InvalidConfig`` listing every error as (camelCase path, message). Keys the reference engine
still exports but no longer uses (``OBSOLETE``) are dropped with a warning naming them; the
result carries the config, the warnings and the input without those keys (what to store).
``TradingConfig.from_dict`` is the same parse for callers that need only the config.
``to_dict`` writes the camelCase form back (Decimals as strings, so nothing is lost); the two
round-trip.
"""

# ``spec`` returns ``dataclasses.field(...)`` (a field specifier), which RUF009 cannot see.
# ruff: noqa: RUF009

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.config_fields import Obj, dump_obj, parse_obj, spec
from domain.config_sections import (
    DCA_MODES,
    DCA_PRESETS,
    TP_MODES,
    TP_TEMPLATES,
    DcaConfig,
    DcaLevel,
    MoonBagConfig,
    PositionCalculatorConfig,
    PositionSizes,
    PurchaseLimits,
    Randomization,
    SignalsConfig,
    SizeRange,
    SolBalanceThresholds,
    StaleTradeConfig,
    StopLossConfig,
    TakeProfitConfig,
    TakeProfitLevel,
    TakeProfitTemplate,
    TrailingLevel,
)
from domain.errors import InvalidConfig

__all__ = [
    "DCA_MODES", "DCA_PRESETS", "OBSOLETE", "TP_MODES", "TP_TEMPLATES", "ConfigWarning",
    "DcaConfig", "DcaLevel", "MoonBagConfig", "ParsedConfig", "PositionCalculatorConfig",
    "PositionSizes", "PurchaseLimits", "Randomization", "SignalsConfig", "SizeRange",
    "SolBalanceThresholds", "StaleTradeConfig", "StopLossConfig", "StoredConfig",
    "TakeProfitConfig", "TakeProfitLevel", "TakeProfitPlan", "TakeProfitTemplate",
    "TradingConfig", "TrailingLevel", "dca_levels", "deep_merge", "parse_config",
    "take_profit_levels",
]

# An agent's config as read from the database: the JSON (None: every default), or the typed
# refusal of a stored text that cannot even be read, so that one agent's bad row is that
# agent's problem and never fails a read of many agents.
StoredConfig = dict[str, Any] | InvalidConfig | None

# Keys a reference-engine export may carry that no rule uses any more: accepted and dropped,
# with a warning naming them (docs/rules.md §13). Any other unknown key is an error.
OBSOLETE: dict[tuple[str, str], str] = {
    ("stopLoss", "continuousTrailing"): "obsolete (the stop loss always trails), ignored",
}


@dataclass(frozen=True)
class TradingConfig:
    purchase_limits: PurchaseLimits = spec("purchaseLimits", Obj(PurchaseLimits), PurchaseLimits())
    signals: SignalsConfig = spec("signals", Obj(SignalsConfig), SignalsConfig())
    stop_loss: StopLossConfig = spec("stopLoss", Obj(StopLossConfig), StopLossConfig())
    position_calculator: PositionCalculatorConfig = spec(
        "positionCalculator", Obj(PositionCalculatorConfig), PositionCalculatorConfig()
    )
    stale_trade: StaleTradeConfig = spec("staleTrade", Obj(StaleTradeConfig), StaleTradeConfig())
    dca: DcaConfig = spec("dca", Obj(DcaConfig), DcaConfig())
    take_profit: TakeProfitConfig = spec("takeProfit", Obj(TakeProfitConfig), TakeProfitConfig())

    @classmethod
    def default(cls) -> TradingConfig:
        return _DEFAULT

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | InvalidConfig | None) -> TradingConfig:
        """Parse a stored config (``parse_config`` without its warnings)."""
        return parse_config(data).config

    def to_dict(self) -> dict[str, Any]:
        """The camelCase JSON-able form (Decimals as strings)."""
        return dump_obj(self)


_DEFAULT = TradingConfig()


@dataclass(frozen=True)
class ConfigWarning:
    """Something accepted but not used, named by its camelCase path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class ParsedConfig:
    """A valid config, what was dropped from it (``warnings``), and ``data``: the input
    without the dropped keys, the form to store (None for a NULL column: every default)."""

    config: TradingConfig
    warnings: tuple[ConfigWarning, ...] = ()
    data: dict[str, Any] | None = None


def parse_config(data: Mapping[str, Any] | InvalidConfig | None) -> ParsedConfig:
    """Parse a stored or operator-sent config; ``None`` means every default. Raises
    ``InvalidConfig`` listing every error (also for a stored config that could not be read,
    ``StoredConfig``); obsolete keys come back as warnings."""
    if isinstance(data, InvalidConfig):
        raise InvalidConfig(data.errors)
    if data is None:
        return ParsedConfig(_DEFAULT)
    if not isinstance(data, Mapping):
        raise InvalidConfig([("$", "must be an object")])
    kept, warnings = _drop_obsolete(data)
    errors: list[tuple[str, str]] = []
    parsed = parse_obj(TradingConfig, deep_merge(_default_dict(), kept), "", errors)
    if errors or parsed is None:
        raise InvalidConfig(errors or [("$", "invalid")])
    return ParsedConfig(parsed, warnings, kept)


def _drop_obsolete(data: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[ConfigWarning, ...]]:
    kept = dict(data)
    warnings: list[ConfigWarning] = []
    for (section, key), message in OBSOLETE.items():
        part = kept.get(section)
        if isinstance(part, Mapping) and key in part:
            kept[section] = {k: v for k, v in part.items() if k != key}
            warnings.append(ConfigWarning(f"{section}.{key}", message))
    return kept, tuple(warnings)


@functools.cache
def _default_dict() -> dict[str, Any]:
    return _DEFAULT.to_dict()


def deep_merge(base: Any, override: Any) -> Any:
    """Objects merge key by key; arrays and scalars in ``override`` replace ``base``."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override


def dca_levels(config: TradingConfig) -> tuple[DcaLevel, ...]:
    """The effective DCA levels, in the order they fire (least negative drop first)."""
    if config.dca.mode == "custom":
        return tuple(sorted(config.dca.levels, key=lambda level: level.drop_percent, reverse=True))
    return DCA_PRESETS[config.dca.mode]


@dataclass(frozen=True)
class TakeProfitPlan:
    """The effective take-profit ladder and moon bag of a config (docs/rules.md §8)."""

    levels: tuple[TakeProfitLevel, ...]
    moon_bag_enabled: bool
    moon_bag_trigger_percent: Decimal
    moon_bag_retain_percent: Decimal


def take_profit_levels(config: TradingConfig) -> TakeProfitPlan:
    """A preset mode takes levels and moon trigger/retain from its template; custom mode from
    the config. The ``enabled`` flags always come from the config."""
    tp = config.take_profit
    if tp.mode == "custom":
        levels, trigger, retain = tp.levels, tp.moon_bag.trigger_percent, tp.moon_bag.retain_percent
    else:
        template = TP_TEMPLATES[tp.mode]
        levels, trigger, retain = template.levels, template.trigger_percent, template.retain_percent
    return TakeProfitPlan(levels, tp.moon_bag.enabled, trigger, retain)
