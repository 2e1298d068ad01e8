"""Generated agent trading configs for the scenario-9 tests: a valid config (empty, whole sections,
a random subset of keys, or every default) with up to four changes — values near docs/rules.md §13's
bounds in every spelling, junk of every type, unknown and deleted keys, non-object sections,
near-valid or random ladders."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck
from hypothesis import strategies as st

from domain.config import DCA_MODES, TP_MODES, TradingConfig
from domain.config import deep_merge as merged  # docs/rules.md §13's merge (unit-tested on its own)
from tests.chaos.helpers import mint
from tests.chaos.test_bad_input import json_values

BEYOND_DECIMAL = "1e9999999999999999999999"  # an exponent past decimal's own limit
SLOW_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
           HealthCheck.data_too_large, HealthCheck.large_base_example]

# --- the shape of a config -----------------------------------------------------------------

Where = tuple[str | int, ...]
DEFAULT: dict[str, Any] = TradingConfig.default().to_dict()
_DEFAULT_TEXT = json.dumps(DEFAULT)
# What one item of each array looks like (arrays replace wholesale: no defaults inside).
ITEMS: dict[Where, Any] = {
    ("signals", "allowedSignalTypes"): "buy",
    ("signals", "tokenList"): mint(1),
    ("stopLoss", "trailingLevels"): {"change": "10", "stopLoss": "5"},
    ("dca", "levels"): {"dropPercent": "-20", "buyPercent": "50"},
    ("takeProfit", "levels"): {"targetPercent": "50", "sellPercent": "25"},
}
CHOICES: dict[str, tuple[str, ...] | None] = {
    "tokenFilterMode": ("none", "blacklist", "whitelist"),
    "stopLoss.mode": None,  # docs/rules.md §13 lists the modes; membership is the code's to check
    "dca.mode": DCA_MODES,
    "takeProfit.mode": TP_MODES,
}
# Where valid values end (docs/rules.md §13): generation aims at these
# edges, and every accepted config must keep inside them (ABOVE: the lower bound is exclusive;
# INTEGERS: whole numbers).
SOL, USD, COUNT, PCT = "1000000000", "100000000000", "1000000000", "1000000"
LIMITS: dict[str, tuple[str | None, str | None]] = {
    "minimumAgentBalance": ("0.1", SOL), "maxPurchasePerToken": ("0", SOL),
    "maxPriceImpact": ("0", "1"), "minScore": ("1", "100"),
    "marketCapMin": ("0", USD), "marketCapMax": ("0", USD), "liquidityMin": ("0", USD),
    "liquidityMax": ("0", USD), "holderCountMin": ("0", COUNT), "holderCountMax": ("0", COUNT),
    "defaultPercentage": ("-100", "0"), "change": ("0", PCT), "stopLoss": ("0", "1000"),
    "minimum": ("0", SOL), "medium": ("0", SOL), "large": ("0", SOL),
    "min": ("0", SOL), "max": ("0", SOL), "minHoldTimeMinutes": ("1", "525600"),
    "minProfitPercent": ("-" + PCT, PCT), "maxProfitPercent": ("-" + PCT, PCT),
    "dropPercent": ("-99", "-1"), "buyPercent": ("1", "500"), "maxDCACount": ("1", "10"),
    "cooldownSeconds": ("10", "3600"), "targetPercent": ("1", "10000"),
    "sellPercent": ("1", "100"), "triggerPercent": ("1", "10000"), "retainPercent": ("1", "50"),
}
ABOVE = {"maxPurchasePerToken", "maxPriceImpact", "marketCapMin", "marketCapMax",
         "liquidityMin", "liquidityMax", "change", "minimum", "medium", "large"}
INTEGERS = {"minScore", "holderCountMin", "holderCountMax", "maxDCACount"}
# Keys a reference-engine export carries that are accepted and dropped (with a warning).
OBSOLETE = {("stopLoss", "continuousTrailing")}
_MISSING = object()


class Raw(str):
    """A number written into the config's JSON text as a bare literal (the operator's file);
    read directly (``from_dict``) it is the same text as a string."""

    def __repr__(self) -> str:
        return f"Raw({str(self)!r})"


def dotted(where: Where) -> str:
    """The path as the config names it: ``takeProfit.levels[2].sellPercent``."""
    out = ""
    for part in where:
        out = f"{out}[{part}]" if isinstance(part, int) else f"{out}.{part}" if out else part
    return out


def under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((f"{prefix}.", f"{prefix}["))


def template_at(where: Where) -> Any:
    """What DEFAULT (with ITEMS for array items) has at ``where``; _MISSING if nothing."""
    node: Any = DEFAULT
    for i, part in enumerate(where):
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and where[:i] in ITEMS:
            node = ITEMS[where[:i]]
        else:
            return _MISSING
    return node


def positions(node: Any, where: Where = (), tmpl: Any = DEFAULT,
              out: list[Where] | None = None) -> list[Where]:
    """Every node of the merged view that the schema knows (and the root)."""
    out = [] if out is None else out
    out.append(where)
    if isinstance(node, dict) and isinstance(tmpl, dict):
        for key, value in node.items():
            if key in tmpl:
                positions(value, (*where, key), tmpl[key], out)
    elif isinstance(node, list) and isinstance(tmpl, list) and where in ITEMS:
        for i, value in enumerate(node):
            positions(value, (*where, i), ITEMS[where], out)
    return out


# --- generating values -------------------------------------------------------------------

NUMBER_TEXTS = [
    "", " ", "1 ", " 1", "+1", "1.", ".5", "-.5", "1e3", "1E+40", "1e41", "1e-40", "1e-41",
    "-0", "0.0", "NaN", "nan", "Infinity", "-inf", "0x10", "1_000", "1,5", "\u0663", "\u00bd",
    "9" * 61, "0." + "0" * 70 + "1", "1e999999999999999999", "0e-999999999999999999",
    "1e9999999999999999999999", "-1e-9999999999999999999999",
]
HUGE = [10**40, 10**41, -(10**41), 2**63, -(2**64), 10**100, 10**400, 1e300, -1e-300, 5e-324,
        Raw("1e9999999999999999999999"), Raw("0e-999999999999999999"), Raw("1" * 5000),
        Raw("1E+41"), Raw("-0.0")]
junk = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
    st.sampled_from(NUMBER_TEXTS), st.sampled_from(HUGE), json_values,
    st.sampled_from(["buy", "a\x00b", "\ud800", "custom", "true", "null", "{}"]),
)
DELTAS = [Decimal(d) for d in ("0", "1", "-1", "0.5", "-0.5", "1e-8", "-1e-8", "0.0001")]


def spellings(d: Decimal) -> st.SearchStrategy[Any]:
    """One number, written as JSON may carry it: string, float, Decimal, int, exponent."""
    forms: list[Callable[[Decimal], Any]] = [str, lambda x: format(x, "f"), float,
                                             lambda x: x, lambda x: f"{x:E}"]
    if d == d.to_integral_value():
        forms.append(int)
    return st.integers(0, len(forms) - 1).map(lambda i: forms[i](d))


@functools.cache
def numbers(key: str) -> st.SearchStrategy[Any]:
    lo, hi = LIMITS.get(key, (None, None))
    points = [Decimal(b) for b in (lo, hi) if b is not None] or [Decimal(0), Decimal(100)]
    edges = st.builds(lambda p, d: p + d, st.sampled_from(points), st.sampled_from(DELTAS))
    inside = st.decimals(min_value=Decimal(lo) if lo else Decimal(-5000),
                         max_value=Decimal(hi) if hi else Decimal(20000),
                         allow_nan=False, allow_infinity=False, places=3)
    return (edges | inside).flatmap(spellings)


def ladder(where: Where) -> st.SearchStrategy[list[dict[str, Any]]]:
    """A near-valid array of levels: ordered as docs/rules.md §13 wants, values inside the bounds.
    """
    def pct(lo: str, hi: str) -> st.SearchStrategy[Decimal]:
        return st.decimals(min_value=Decimal(lo), max_value=Decimal(hi), places=2)

    def build(keys: tuple[str, str], firsts: list[Decimal], seconds: list[Decimal],
              descending: bool) -> list[dict[str, Any]]:
        firsts = sorted(set(firsts), reverse=descending)
        return [{keys[0]: a, keys[1]: b} for a, b in zip(firsts, seconds, strict=False)]

    if where == ("stopLoss", "trailingLevels"):
        return st.builds(build, st.just(("change", "stopLoss")),
                         st.lists(pct("0.01", "1000"), max_size=5),
                         st.lists(pct("0", "1000"), min_size=5, max_size=5), st.just(True))
    if where == ("dca", "levels"):
        return st.builds(build, st.just(("dropPercent", "buyPercent")),
                         st.lists(pct("-99", "-1"), max_size=5),
                         st.lists(pct("1", "500"), min_size=5, max_size=5), st.booleans())
    return st.builds(build, st.just(("targetPercent", "sellPercent")),
                     st.lists(pct("1", "10000"), max_size=11),
                     st.lists(pct("1", "20"), min_size=11, max_size=11), st.just(False))


def values_for(where: Where) -> st.SearchStrategy[Any]:
    """A value to put at ``where``: mostly plausible for that place, sometimes anything."""
    return _values_for(tuple(0 if isinstance(part, int) else part for part in where))


@functools.cache
def _values_for(where: Where) -> st.SearchStrategy[Any]:
    tmpl = template_at(where)
    key = str(where[-1]) if where and isinstance(where[-1], str) else ""
    name = dotted(where[-2:]) if len(where) >= 2 else key
    if isinstance(tmpl, dict):  # an object: {} (a no-op partial), junk, or a random object
        plausible: st.SearchStrategy[Any] = st.builds(dict)
    elif isinstance(tmpl, list) and where in ITEMS:
        item = ITEMS[where]
        if isinstance(item, dict):
            level = st.fixed_dictionaries({}, optional={k: numbers(k) | junk for k in item})
            plausible = ladder(where) | st.lists(level, max_size=4)
        elif where[-1] == "tokenList":
            plausible = st.lists(st.sampled_from([mint(1), mint(2), mint(3)[:-1], "x", ""])
                                 | st.text(max_size=45), max_size=4)
        else:
            plausible = st.lists(st.text(max_size=52) | st.sampled_from(
                ["buy", "a" * 51, "a\x00b", "\ud800", " ", "Velocity (Dex)"]), max_size=4)
    elif isinstance(tmpl, bool):
        plausible = st.booleans()
    elif key in CHOICES or name in CHOICES:
        plausible = st.sampled_from(
            ["none", "blacklist", "whitelist", "fixed", "zones", "exponential", "custom",
             "aggressive", "moderate", "conservative", "Custom", " custom", ""])
    elif isinstance(tmpl, str | int) or tmpl is None:
        plausible = numbers(key) | st.none()
    else:
        plausible = st.nothing()
    return st.one_of(plausible, plausible, junk)


class Case:
    """A generated config and the paths the test changed (maybe to something bad)."""

    def __init__(self, config: Any, changed: list[Where] | None = None) -> None:
        self.config = config
        self.changed = changed or []

    def __repr__(self) -> str:
        return f"Case(config={self.config!r}, changed={[dotted(w) for w in self.changed]})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis' reports
        printer.text(repr(self))


def _container(config: dict[str, Any], where: Where) -> Any:
    """The dict or list holding ``where``'s last part; missing sections are created ({} for
    objects, a copy of the merged array for arrays). None when something else is in the way."""
    node: Any = config
    for i, part in enumerate(where[:-1]):
        if isinstance(node, dict) and isinstance(part, str):
            if part not in node:
                view = _view(merged(DEFAULT, config), where[:i + 1])
                if not isinstance(view, dict | list):
                    return None
                node[part] = {} if isinstance(view, dict) else copy.deepcopy(view)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node if isinstance(node, dict | list) else None


def _view(node: Any, where: Where) -> Any:
    for part in where:
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            node = node[part]
            continue
        if isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            continue
        return _MISSING
    return node


def _partial(draw: st.DrawFn, node: dict[str, Any]) -> dict[str, Any]:
    """Some of the keys of ``node`` (one draw per object: a bit per key), recursively."""
    kept = draw(st.integers(0, 2 ** len(node) - 1))
    return {key: _partial(draw, value) if isinstance(value, dict) else copy.deepcopy(value)
            for i, (key, value) in enumerate(node.items()) if kept >> i & 1}


@st.composite
def configs(draw: st.DrawFn) -> Case:
    """A valid config (every default, or a partial one) changed 0–4 times."""
    if draw(st.integers(0, 24)) == 0:  # not an object at all
        return Case(draw(json_values.filter(lambda v: not isinstance(v, dict))), [()])
    shape = draw(st.integers(0, 3))  # none (shrinks there), whole sections, any keys, all
    if shape == 0:
        config = {}
    elif shape == 1:
        everything = json.loads(_DEFAULT_TEXT)
        config = {k: everything[k] for k in draw(st.sets(st.sampled_from(list(DEFAULT))))}
    elif shape == 2:
        config = _partial(draw, DEFAULT)
    else:
        config = json.loads(_DEFAULT_TEXT)
    case = Case(config)
    for _ in range(draw(st.integers(0, 4))):
        spots = positions(merged(DEFAULT, config))
        where = spots[draw(st.integers(0, len(spots) - 1))]
        how = draw(st.sampled_from(["set", "set", "set", "respell", "unknown", "delete",
                                    "texts", "obsolete"]))
        if how == "texts":  # free text is where storable and valid part ways (NUL, …)
            where, how = ("signals", "allowedSignalTypes"), "set"
        if how == "obsolete":  # what reference-engine exports still carry: dropped, warned
            where, how = ("stopLoss", "continuousTrailing"), "unknown"
            if not isinstance(_view(merged(DEFAULT, config), ("stopLoss",)), dict):
                continue
            value = draw(st.booleans() | junk)
        if how == "unknown" and where in OBSOLETE:
            pass
        elif how == "unknown":
            tmpl = template_at(where)
            key = draw(st.sampled_from(["maxDcaCount", "minscore", "stop_loss", "Enabled",
                                        "enabled ", "", "levels[0]", "__proto__",
                                        "continuousTrailing"])
                       | st.text(max_size=10))
            if not isinstance(tmpl, dict) or key in tmpl:
                continue
            where = (*where, key)
            value = draw(junk)
        elif not where:
            continue
        elif how == "respell":
            current = _view(merged(DEFAULT, config), where)
            try:
                number = Decimal(current) if isinstance(current, str | int) else None
            except ArithmeticError:
                number = None
            if (isinstance(current, bool) or number is None or not number.is_finite()
                    or abs(int(number.as_tuple().exponent)) > 100):
                continue
            value = draw(spellings(number))
        else:
            value = draw(values_for(where))
        holder = _container(config, where)
        last = where[-1]
        if isinstance(holder, dict) and isinstance(last, str):
            if how == "delete":
                if last not in holder:
                    continue
                del holder[last]
            else:
                holder[last] = value
        elif isinstance(holder, list) and isinstance(last, int) and last < len(holder):
            if how == "delete":
                del holder[last]
                where = where[:-1]  # later items move up: the whole array changed
            else:
                holder[last] = value
        else:
            continue
        case.changed.append(where)
    return case
