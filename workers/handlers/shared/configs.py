"""Parsed trading configs, cached per process by their JSON text (parsing is not free)."""

from __future__ import annotations

import json
from functools import lru_cache

from domain.config import StoredConfig, TradingConfig
from domain.errors import InvalidConfig


@lru_cache(maxsize=4096)
def _parse(text: str) -> TradingConfig:
    return TradingConfig.from_dict(json.loads(text))


def trading_config(stored: StoredConfig) -> TradingConfig:
    """The agent's stored (partial) config merged over the defaults; raises InvalidConfig
    (also for a stored config the database read could not decode)."""
    if isinstance(stored, InvalidConfig):
        raise InvalidConfig(stored.errors)
    if stored is None:
        return TradingConfig.default()
    return _parse(json.dumps(stored, sort_keys=True))


def trading_config_or_error(stored: StoredConfig) -> TradingConfig | InvalidConfig:
    """``trading_config`` with the refusal as a value: one agent's bad config is that agent's
    outcome, never an exception for a batch of agents."""
    try:
        return trading_config(stored)
    except InvalidConfig as exc:
        return exc
