"""Parsed trading configs, cached per process by their JSON text (parsing is not free)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from domain.config import TradingConfig


@lru_cache(maxsize=4096)
def _parse(text: str) -> TradingConfig:
    return TradingConfig.from_dict(json.loads(text))


def trading_config(stored: dict[str, Any] | None) -> TradingConfig:
    """The agent's stored (partial) config merged over the defaults; raises InvalidConfig."""
    if not stored:
        return TradingConfig.default()
    return _parse(json.dumps(stored, sort_keys=True))
