"""Each trailing stop-loss mode on the real worker (docs/rules.md §7): the position rides up, the
stop ratchets (persisted at the 4-dp scale), a price one tick above the stop holds, and the price at
the stop closes the position (``stop_loss``). The expected stop comes from the domain rule, so this
tests the beat's wiring of every mode, not the formula twice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import redis
from celery import Celery
from sqlalchemy import Engine

from domain.money import HUNDRED, change_percent, percent
from domain.stop_loss import target_percentage
from tests.e2e.sweep_helpers import history, open_position, position, refresh_and_sweep, sales
from tests.e2e.test_pipeline import FIXED_SIZE
from workers.handlers.shared.configs import trading_config

AVG = Decimal("0.001")  # 2000 tokens for 2 SOL (see test_sweeps)
TICK = Decimal("1e-18")  # the stored price scale
LEVELS = [{"change": 100, "stopLoss": 60}, {"change": 50, "stopLoss": 25},
          {"change": 10, "stopLoss": 0}]
MODES = {
    "zones": {"mode": "zones"},
    "exponential": {"mode": "exponential"},
    "custom": {"mode": "custom", "trailingLevels": LEVELS},
}


def expected_stop(config: dict[str, Any], peak: Decimal) -> Decimal:
    """The stop % docs/rules.md §7 gives for a peak (above the default, so the ratchet takes it)."""
    rule = trading_config(config).stop_loss
    return percent(target_percentage(change_percent(peak, AVG), rule))


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_position_rides_up_and_is_stopped_out_at_the_ratcheted_stop_in_each_mode(
        mode: str, pipeline: Engine, e2e_redis: redis.Redis, sender: Celery) -> None:
    config = {**FIXED_SIZE, "stopLoss": MODES[mode]}
    open_position(pipeline, e2e_redis, f"rider-{mode}", config)
    first, peak = Decimal("0.0013"), Decimal("0.00173")  # peak gains 30 % then 73 %
    low, high = expected_stop(config, first), expected_stop(config, peak)
    assert Decimal(-32) < low < high

    refresh_and_sweep(sender, e2e_redis, str(first))
    assert stored(pipeline) == (first, low)
    refresh_and_sweep(sender, e2e_redis, str(peak))
    assert stored(pipeline) == (peak, high)

    stop = AVG * (1 + high / HUNDRED)
    refresh_and_sweep(sender, e2e_redis, str(stop + TICK))  # one tick above: hold, no loosening
    assert stored(pipeline) == (peak, high)
    assert sales(pipeline) == []

    refresh_and_sweep(sender, e2e_redis, str(stop))
    assert position(pipeline) is None
    [closed] = history(pipeline)
    assert (closed.close_reason, closed.sale_price) == ("stop_loss", stop)
    assert len(sales(pipeline)) == 1


def stored(engine: Engine) -> tuple[Decimal, Decimal]:
    held = position(engine)
    assert held is not None
    return held.peak_price, held.current_stop_loss_percentage
