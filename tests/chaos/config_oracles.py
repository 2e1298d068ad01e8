"""What a generated config's outcome must be, without running the validator's code again. A
rejection must (1) list every structural problem of the config (an unknown key, an object
where a scalar belongs, a scalar where an object or array belongs, a required level field
missing …) at its exact path, and (2) name only fields in the neighbourhood of what the test
changed: the base config is valid, so an error elsewhere is a spurious one. An acceptance
must keep every value as sent (no coercion, nothing dropped), keep inside docs/rules.md §13's bounds
and cross-field rules, and round-trip through ``to_dict``/``from_dict`` and JSON."""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from hypothesis import note

from domain.config import ParsedConfig, TradingConfig
from domain.config import deep_merge as merged  # docs/rules.md §13's merge (unit-tested on its own)
from domain.errors import InvalidConfig
from tests.chaos.config_cases import (
    ABOVE,
    CHOICES,
    DEFAULT,
    INTEGERS,
    ITEMS,
    LIMITS,
    OBSOLETE,
    Case,
    Where,
    dotted,
    template_at,
    under,
)

# --- oracles -------------------------------------------------------------------------------

# docs/rules.md §13's decimal string: an optional sign, ASCII digits with an optional decimal point,
# an optional exponent; nothing else (no spaces, underscores, other scripts' digits, NaN, inf).
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?",
                           re.ASCII)


def _no_number(value: object) -> bool:
    """Not a number under docs/rules.md §13's rules of spelling (a type, NaN/inf, a bad string)."""
    if isinstance(value, bool | dict | list):
        return True
    if isinstance(value, float):
        return not math.isfinite(value)
    return isinstance(value, str) and not _DECIMAL_TEXT.fullmatch(value)


def without_obsolete(config: Any) -> Any:
    """The config as kept: the obsolete keys docs/rules.md §13 drops with a warning, dropped."""
    if not isinstance(config, Mapping):
        return config
    kept = dict(config)
    for section, key in OBSOLETE:
        if isinstance(kept.get(section), Mapping):
            kept[section] = {k: v for k, v in kept[section].items() if k != key}
    return kept


def must_refuse(node: Any, where: Where = ()) -> Iterator[str]:
    """The paths a correct validator has to report for the merged config ``node``."""
    tmpl = template_at(where)
    if isinstance(tmpl, dict):
        if not isinstance(node, Mapping):
            yield dotted(where) or "$"
            return
        for key, value in node.items():
            if (*where, key) in OBSOLETE:
                continue
            if key not in tmpl:
                yield dotted((*where, key))
            else:
                yield from must_refuse(value, (*where, key))
        if where and isinstance(where[-1], int):  # an array item: nothing merged in
            yield from (dotted((*where, k)) for k in tmpl if k not in node)
    elif isinstance(tmpl, list):
        if not isinstance(node, list):
            yield dotted(where)
        elif isinstance(ITEMS[where], dict):
            for i, item in enumerate(node):
                yield from must_refuse(item, (*where, i))
        else:
            yield from (dotted((*where, i)) for i, item in enumerate(node)
                        if not isinstance(item, str) or not item)
    elif isinstance(tmpl, bool):
        if not isinstance(node, bool):
            yield dotted(where)
    elif str(where[-1]) in CHOICES or dotted(where[-2:]) in CHOICES:
        options = CHOICES.get(str(where[-1]), CHOICES.get(dotted(where[-2:])))
        if not isinstance(node, str) or (options is not None and node not in options):
            yield dotted(where)
    elif _no_number(node) or (node is None and tmpl is not None):
        yield dotted(where)


def scope(where: Where) -> str:
    """The object whose rules a change at ``where`` can break: its section (in
    positionCalculator, the sub-object); the root for a top-level key."""
    depth = 2 if where[:1] == ("positionCalculator",) else 1
    return dotted(where[:depth])


def check_refusal(exc: InvalidConfig, case: Case) -> None:
    paths = [path for path, _ in exc.errors]
    assert paths, exc
    for path, message in exc.errors:
        assert isinstance(path, str) and isinstance(message, str) and message.strip(), exc
        assert path in str(exc)
    if not isinstance(case.config, Mapping):
        assert paths == ["$"], exc
        return
    missing = set(must_refuse(merged(DEFAULT, case.config))) - set(paths)
    assert not missing, f"not reported: {sorted(missing)}; reported: {exc.errors}"
    spurious = [p for p in paths if not any(
        under(p, dotted(w)) or (len(w) > 1 and under(p, scope(w))) for w in case.changed)]
    assert not spurious, f"errors where nothing changed: {spurious}; changed: {case!r}"


def same(sent: Any, got: Any) -> bool:
    """``got`` (``to_dict``) holds ``sent`` (the merged input) as sent: no value coerced,
    none dropped, numbers equal as decimals (a float as the decimal it prints as)."""
    if isinstance(got, dict):
        return (isinstance(sent, Mapping) and set(sent) == set(got)
                and all(same(sent[k], got[k]) for k in got))
    if isinstance(got, list):
        return (isinstance(sent, list) and len(sent) == len(got)
                and all(map(same, sent, got)))
    if isinstance(got, bool) or got is None:
        return sent is got
    if isinstance(sent, str) and sent == got:
        return True
    if isinstance(sent, bool) or not isinstance(sent, int | float | str | Decimal):
        return False
    return bool(Decimal(str(sent)) == Decimal(str(got)))


def out_of_bounds(node: Any, where: Where = ()) -> Iterator[str]:
    """The numbers of an accepted config (``to_dict``) outside docs/rules.md §13's bounds."""
    if isinstance(node, dict | list):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            yield from out_of_bounds(value, (*where, key))
    elif node is not None and where and where[-1] in LIMITS:
        key = str(where[-1])
        lo, hi = LIMITS[key]
        number = Decimal(str(node))
        if ((key in INTEGERS and (isinstance(node, bool) or not isinstance(node, int)))
                or (lo is not None and (number <= Decimal(lo) if key in ABOVE
                                        else number < Decimal(lo)))
                or (hi is not None and number > Decimal(hi))):
            yield dotted(where)


def broken_rules(out: dict[str, Any]) -> list[str]:
    """docs/rules.md §13's rules across fields that an accepted config (``to_dict``) breaks."""
    def n(value: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    def ordered(low: Any, high: Any, strict: bool = False) -> bool:
        a, b = n(low), n(high)
        return a is None or b is None or (a < b if strict else a <= b)

    sig, sl, pc = out["signals"], out["stopLoss"], out["positionCalculator"]
    t, changes = pc["solBalanceThresholds"], [n(level["change"]) for level in sl["trailingLevels"]]
    rules = {
        "signals bounds": all(ordered(sig[f"{m}Min"], sig[f"{m}Max"])
                              for m in ("marketCap", "liquidity", "holderCount")),
        "thresholds ascend": ordered(t["minimum"], t["medium"], True)
        and ordered(t["medium"], t["large"], True),
        "sizes": all(ordered(r["min"], r["max"]) for r in pc["positionSizes"].values()),
        "stale profits": ordered(out["staleTrade"]["minProfitPercent"],
                                 out["staleTrade"]["maxProfitPercent"]),
        "trailing descends": sl["mode"] != "custom"
        or all(ordered(b, a, True) for a, b in itertools.pairwise(changes)),
        "custom trailing": sl["mode"] != "custom" or bool(changes),
        "custom dca": not (out["dca"]["enabled"] and out["dca"]["mode"] == "custom")
        or bool(out["dca"]["levels"]),
        "take-profit levels": len(out["takeProfit"]["levels"]) <= 10,
        "signal types": all(1 <= len(kind) <= 50 for kind in sig["allowedSignalTypes"]),
        "token list": all(32 <= len(token) <= 44 for token in sig["tokenList"]),
    }
    return [rule for rule, holds in rules.items() if not holds]


def check_acceptance(config: TradingConfig, case: Case) -> None:
    assert not list(must_refuse(merged(DEFAULT, case.config or {}))), case
    out = config.to_dict()
    assert same(without_obsolete(merged(DEFAULT, case.config or {})), out), (case, out)
    assert not list(out_of_bounds(out)) and not broken_rules(out), (
        list(out_of_bounds(out)), broken_rules(out), out)
    assert TradingConfig.from_dict(json.loads(json.dumps(out))) == config  # JSON-able, same


def check_warnings(parsed: ParsedConfig, case: Case) -> None:
    """One warning per obsolete key sent, naming it; the data to store is without them."""
    sent = case.config if isinstance(case.config, Mapping) else {}
    present = sorted(f"{section}.{key}" for section, key in OBSOLETE
                     if isinstance(sent.get(section), Mapping) and key in sent[section])
    assert sorted(w.path for w in parsed.warnings) == present, (parsed.warnings, case)
    assert all(w.message for w in parsed.warnings)
    assert parsed.data == (None if case.config is None else without_obsolete(sent)), case


@contextlib.contextmanager
def noted(*args: Any) -> Iterator[None]:
    """Show a failing case's input (this hypothesis prints a failing case's arguments
    empty); formatted only on failure, the configs are long."""
    try:
        yield
    except BaseException:
        note(", ".join(map(repr, args)))
        raise
