"""Waiting for a turn (docs/rules.md §3): which wait, its bounded retry schedule, and the
FAILED reason once it outlasts the longest wait."""

from __future__ import annotations

from domain import entry
from domain.entry import Ahead, Wait


def test_nothing_ahead_is_no_wait() -> None:
    assert entry.wait_for(None) is None
    assert entry.wait_for(Ahead()) is None


def test_a_swap_in_flight_is_waited_for_before_an_earlier_signal() -> None:
    assert entry.wait_for(Ahead(earlier_signal=True)) == Wait("earlier_signal_pending")
    assert entry.wait_for(Ahead(swap_in_flight=True)) == Wait("swap_in_flight")
    assert entry.wait_for(Ahead(True, True)) == Wait("swap_in_flight")


def test_a_wait_that_outlasts_its_bound_fails_with_a_stable_reason() -> None:
    assert entry.gave_up(Wait("swap_in_flight")) == "swap_still_in_flight"
    assert entry.gave_up(Wait("earlier_signal_pending")) == "earlier_signal_still_pending"


def test_the_retry_delay_doubles_then_stays_below_the_visibility_timeout() -> None:
    assert [entry.retry_delay(a) for a in range(5)] == [0.5, 1.0, 2.0, 2.0, 2.0]
    assert entry.retry_delay(10_000) == 2.0
