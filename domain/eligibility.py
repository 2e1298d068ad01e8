"""Which agents a signal reaches (docs/rules.md §2): every failing reason, as stable codes."""

from __future__ import annotations

from decimal import Decimal

from domain.agents import Agent, TokenMetrics
from domain.config import SignalsConfig, TradingConfig
from domain.signals import Signal
from domain.vocabulary import DEFAULT_VOCABULARY, Vocabulary

__all__ = ["TokenMetrics", "ineligibility_reasons"]

OTHER_USER = "other_user"
AUTOMATION_PAUSED = "automation_paused"
BELOW_MIN_SCORE = "below_min_score"
SIGNAL_TYPE_NOT_ALLOWED = "signal_type_not_allowed"
TOKEN_BLACKLISTED = "token_blacklisted"
TOKEN_NOT_WHITELISTED = "token_not_whitelisted"
METRICS_UNAVAILABLE = "metrics_unavailable"
MARKET_CAP_OUT_OF_RANGE = "market_cap_out_of_range"
LIQUIDITY_OUT_OF_RANGE = "liquidity_out_of_range"
HOLDER_COUNT_OUT_OF_RANGE = "holder_count_out_of_range"


def ineligibility_reasons(
    agent: Agent, config: TradingConfig, signal: Signal, metrics: TokenMetrics | None,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
) -> list[str]:
    """Every reason ``agent`` may not act on ``signal``, in the order of docs/rules.md §2; empty =
    eligible. Exit signals (the vocabulary's, default ``sell``) and an operator's manual buy
    (``signal.manual``: the operator chose the agent and the token) apply the user and
    automation rules only."""
    reasons: list[str] = []
    if signal.user_id is not None and signal.user_id != agent.user_id:
        reasons.append(OTHER_USER)
    if not agent.automation_on:
        reasons.append(AUTOMATION_PAUSED)
    if vocabulary.is_exit(signal.signal_type) or signal.manual:
        return reasons
    rules = config.signals
    if signal.signal_strength < rules.min_score:
        reasons.append(BELOW_MIN_SCORE)
    if rules.allowed_signal_types and signal.signal_type not in rules.allowed_signal_types:
        reasons.append(SIGNAL_TYPE_NOT_ALLOWED)
    reasons.extend(_token_filter(rules, signal.token_address))
    reasons.extend(_metric_reasons(rules, metrics))
    return reasons


def _token_filter(rules: SignalsConfig, token_address: str) -> list[str]:
    listed = token_address in rules.token_list
    if rules.token_filter_mode == "blacklist" and listed:
        return [TOKEN_BLACKLISTED]
    if rules.token_filter_mode == "whitelist" and not listed:
        return [TOKEN_NOT_WHITELISTED]
    return []


def _metric_reasons(rules: SignalsConfig, metrics: TokenMetrics | None) -> list[str]:
    if not rules.has_metric_bounds:
        return []
    checks = [
        (rules.market_cap_min, rules.market_cap_max, "market_cap", MARKET_CAP_OUT_OF_RANGE),
        (rules.liquidity_min, rules.liquidity_max, "liquidity", LIQUIDITY_OUT_OF_RANGE),
        (rules.holder_count_min, rules.holder_count_max, "holder_count",
         HOLDER_COUNT_OUT_OF_RANGE),
    ]
    reasons: list[str] = []
    for low, high, name, code in checks:
        if low is None and high is None:
            continue
        value = getattr(metrics, name) if metrics is not None else None
        if value is None:
            if METRICS_UNAVAILABLE not in reasons:
                reasons.append(METRICS_UNAVAILABLE)
        elif not _within(Decimal(value), low, high):
            reasons.append(code)
    return reasons


def _within(value: Decimal, low: Decimal | int | None, high: Decimal | int | None) -> bool:
    """Inclusive bounds; an unset bound does not limit."""
    return (low is None or value >= low) and (high is None or value <= high)
