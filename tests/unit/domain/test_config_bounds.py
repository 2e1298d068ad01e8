"""Issue 21: no accepted config may crash a rule. Configs at and past every bound of
docs/rules.md §13 (tests/unit/domain/bound_cases.py), each accepted one through every rule with
extreme positions, prices and clocks. Bounded here; 10k cases in ``make chaos``
(tests/chaos/test_bad_configs.py)."""

from __future__ import annotations

from hypothesis import given, settings

from tests.unit.domain.bound_cases import (
    CONFIGS,
    SLOW_OK,
    WORLDS,
    BoundCase,
    World,
    check_bound_case,
)


@settings(max_examples=200, deadline=None, suppress_health_check=SLOW_OK)
@given(case=CONFIGS, worlds=WORLDS)
def test_configs_at_and_past_every_bound(case: BoundCase, worlds: list[World]) -> None:
    check_bound_case(case, worlds)
