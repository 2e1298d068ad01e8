"""The machinery behind ``TradingConfig``: each dataclass field declares its camelCase JSON key,
its kind (bounds included) and its default in one place; ``parse_obj`` validates a JSON object
against those declarations collecting every error, ``dump_obj`` writes it back."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from domain.base58 import is_public_key
from domain.errors import InvalidInput
from domain.json_text import unstorable
from domain.money import to_decimal

Errors = list[tuple[str, str]]
T = TypeVar("T")


class Kind(Protocol):
    @property
    def optional(self) -> bool: ...

    def parse(self, raw: object, path: str, errors: Errors) -> tuple[bool, Any]: ...

    def dump(self, value: Any) -> Any: ...


def spec(key: str, kind: Kind, default: Any = MISSING) -> Any:
    """A dataclass field read from JSON ``key`` by ``kind``; no default means required."""
    metadata = {"json": key, "kind": kind}
    if default is MISSING:
        return dataclasses.field(metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


@dataclass(frozen=True)
class Dec:
    """A number (int, float read via ``str``, Decimal or decimal string) within bounds."""

    ge: Decimal | None = None
    gt: Decimal | None = None
    le: Decimal | None = None
    optional: bool = False
    integer: bool = False

    def parse(self, raw: object, path: str, errors: Errors) -> tuple[bool, Any]:
        if raw is None:
            if not self.optional:
                errors.append((path, "is required"))
            return self.optional, None
        try:
            value = to_decimal(raw, path)
        except InvalidInput as exc:
            errors.append((path, exc.reason))
            return False, None
        problem = self._problem(value)
        if problem:
            errors.append((path, problem))
            return False, None
        return True, int(value) if self.integer else value

    def _problem(self, value: Decimal) -> str | None:
        if self.integer and value != value.to_integral_value():
            return "must be an integer"
        if self.ge is not None and value < self.ge:
            return f"must be >= {self.ge}"
        if self.gt is not None and value <= self.gt:
            return f"must be > {self.gt}"
        if self.le is not None and value > self.le:
            return f"must be <= {self.le}"
        return None

    def dump(self, value: Any) -> Any:
        if value is None or isinstance(value, int):
            return value
        return format(value, "f")


@dataclass(frozen=True)
class Flag:
    optional: bool = False

    def parse(self, raw: object, path: str, errors: Errors) -> tuple[bool, Any]:
        if isinstance(raw, bool):
            return True, raw
        errors.append((path, "must be true or false"))
        return False, None

    def dump(self, value: Any) -> Any:
        return value


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]
    optional: bool = False

    def parse(self, raw: object, path: str, errors: Errors) -> tuple[bool, Any]:
        if isinstance(raw, str) and raw in self.options:
            return True, raw
        errors.append((path, f"must be one of {', '.join(self.options)}"))
        return False, None

    def dump(self, value: Any) -> Any:
        return value


@dataclass(frozen=True)
class Strs:
    """An array of strings, each 1..``max_len`` characters (and a public key if ``mint``)."""

    max_len: int = 50
    mint: bool = False
    optional: bool = False

    def parse(self, raw: object, path: str, errors: Errors) -> tuple[bool, Any]:
        items = _as_array(raw, path, errors)
        if items is None:
            return False, None
        before = len(errors)
        for i, item in enumerate(items):
            self._check(item, f"{path}[{i}]", errors)
        return len(errors) == before, tuple(items)

    def _check(self, item: object, path: str, errors: Errors) -> None:
        if not isinstance(item, str) or not item or len(item) > self.max_len:
            errors.append((path, f"must be a string of 1..{self.max_len} characters"))
        elif unstorable(item):  # JSONB cannot hold it: refused here, not by the database
            errors.append((path, "must not contain NUL characters or lone surrogates"))
        elif self.mint and not is_public_key(item):
            errors.append((path, "must be a base58 token address (32 bytes)"))

    def dump(self, value: Any) -> Any:
        return list(value)


@dataclass(frozen=True)
class Obj:
    """A nested object, parsed into dataclass ``cls``."""

    cls: type[Any]
    optional: bool = False

    def parse(self, raw: object, path: str, errors: Errors) -> tuple[bool, Any]:
        value = parse_obj(self.cls, raw, path, errors)
        return value is not None, value

    def dump(self, value: Any) -> Any:
        return dump_obj(value)


@dataclass(frozen=True)
class Items:
    """An array of objects, each parsed into dataclass ``cls``."""

    cls: type[Any]
    max_items: int | None = None
    optional: bool = False

    def parse(self, raw: object, path: str, errors: Errors) -> tuple[bool, Any]:
        items = _as_array(raw, path, errors)
        if items is None:
            return False, None
        too_many = self.max_items is not None and len(items) > self.max_items
        if too_many:
            errors.append((path, f"must have at most {self.max_items} items"))
        parsed = [parse_obj(self.cls, item, f"{path}[{i}]", errors) for i, item in enumerate(items)]
        return not too_many and all(p is not None for p in parsed), tuple(parsed)

    def dump(self, value: Any) -> Any:
        return [dump_obj(item) for item in value]


def _as_array(raw: object, path: str, errors: Errors) -> list[object] | None:
    if isinstance(raw, Sequence) and not isinstance(raw, str | bytes):
        return list(raw)
    errors.append((path, "must be an array"))
    return None


def parse_obj(cls: type[T], raw: object, path: str, errors: Errors) -> T | None:
    """Validate ``raw`` against ``cls``'s field declarations; every problem goes to ``errors``.
    Returns None when anything inside was invalid. ``cls.cross_checks(values)`` (optional)
    reports rules spanning several fields, as (relative camelCase path, message)."""
    if not isinstance(raw, Mapping):
        errors.append((path or "$", "must be an object"))
        return None
    values: dict[str, Any] = {}
    declared = fields(cls)  # type: ignore[arg-type]
    for f in declared:
        key, kind = f.metadata["json"], f.metadata["kind"]
        if key in raw:
            ok, value = kind.parse(raw[key], join(path, key), errors)
        else:
            ok, value = kind.optional, None
            if not ok:
                errors.append((join(path, key), "is required"))
        if ok:
            values[f.name] = value
    known = {f.metadata["json"] for f in declared}
    errors.extend((join(path, str(k)), "unknown key") for k in raw if k not in known)
    checks = getattr(cls, "cross_checks", None)
    if checks is not None:
        errors.extend((join(path, rel), msg) for rel, msg in checks(values))
    return cls(**values) if len(values) == len(declared) else None


def dump_obj(value: Any) -> dict[str, Any]:
    """The camelCase JSON-able dict of a declared dataclass (Decimals as strings)."""
    return {
        f.metadata["json"]: f.metadata["kind"].dump(getattr(value, f.name)) for f in fields(value)
    }


def ordered(
    values: Mapping[str, Any], low: tuple[str, str], high: tuple[str, str], strict: bool = False
) -> list[tuple[str, str]]:
    """Check ``values[low] <= values[high]`` (``<`` if strict) when both parsed and are set;
    ``low``/``high`` are (attribute name, JSON key)."""
    a, b = values.get(low[0]), values.get(high[0])
    if a is None or b is None or (a < b if strict else a <= b):
        return []
    relation = "less than" if strict else "at most"
    return [(high[1], f"{low[1]} must be {relation} {high[1]}")]
