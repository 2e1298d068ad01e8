"""Beat sends the price-history fold to the maintenance queue at the configured interval."""

from __future__ import annotations

from fnmatch import fnmatch

from workers.celery_app import ROUTES
from workers.schedule import beat_schedule
from workers.settings import Settings


def test_beat_runs_the_downsampling_job_on_the_maintenance_queue() -> None:
    settings = Settings(_env_file=None, price_downsample_seconds=300)  # type: ignore[call-arg]
    entry = beat_schedule(settings)["ops.downsample_prices"]
    assert (entry["task"], entry["schedule"]) == ("ops.downsample_prices", 300)
    [queue] = [r["queue"] for pattern, r in ROUTES.items()
               if fnmatch("ops.downsample_prices", pattern)]
    assert queue == "maintenance"


def test_the_raw_window_is_configurable_and_positive() -> None:
    import pydantic
    import pytest

    assert Settings(_env_file=None).price_history_raw_hours == 24  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError, match="price_history_raw_hours"):
        Settings(_env_file=None, price_history_raw_hours=0)  # type: ignore[call-arg]
