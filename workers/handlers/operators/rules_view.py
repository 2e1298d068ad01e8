"""Use case: the trading rules in effect for an agent (its stored config merged over the
defaults, docs/rules.md §13) and where they differ from the defaults."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.config import TradingConfig
from domain.errors import InvalidConfig
from domain.ports import UnitOfWork

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")


@dataclass(frozen=True)
class Difference:
    path: str  # the camelCase path, e.g. ``stopLoss.defaultPercentage``
    default: Any
    effective: Any


@dataclass(frozen=True)
class EffectiveConfig:
    agent_id: uuid.UUID
    stored: dict[str, Any] | None  # what the agent row holds (NULL = every default)
    effective: dict[str, Any]  # the stored config merged over the defaults (camelCase)
    differences: list[Difference]


def effective_config(uow: UnitOfWork, agent_id: uuid.UUID) -> EffectiveConfig:
    with uow:
        uow.agents.get(agent_id)  # NotFound names the agent
        stored = uow.agents.get_config(agent_id)
    if isinstance(stored, InvalidConfig):  # unreadable as stored: say so, naming the errors
        raise InvalidConfig(stored.errors)
    effective = TradingConfig.from_dict(stored).to_dict()
    return EffectiveConfig(agent_id, stored, effective,
                           differences(TradingConfig.default().to_dict(), effective))


def differences(default: Any, effective: Any, path: str = "") -> list[Difference]:
    """Every leaf (scalar or array) where ``effective`` differs from ``default``; numbers
    compare by value (``"2.0"`` equals ``"2"``)."""
    if isinstance(default, dict) and isinstance(effective, dict):
        found: list[Difference] = []
        for key in [*default, *(k for k in effective if k not in default)]:
            sub = f"{path}.{key}" if path else key
            found += differences(default.get(key), effective.get(key), sub)
        return found
    return [] if _same(default, effective) else [Difference(path, default, effective)]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(not differences(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return not differences(a, b)
    if isinstance(a, str) and isinstance(b, str):
        if _NUMBER.fullmatch(a) and _NUMBER.fullmatch(b):
            return Decimal(a) == Decimal(b)
        return a == b
    return bool(a == b) and type(a) is type(b)
