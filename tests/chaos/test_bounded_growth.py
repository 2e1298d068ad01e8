"""The long version of tests/integration/test_bounded_growth.py (``make chaos``): a simulated
day of price refreshes every 2 s for 500 held tokens (21.6 million raw rows), written an hour
at a time with the downsampling job folding behind it, on the chaos suite's own PostgreSQL.
The day ends as 1,440 bars per token within the stated bytes, the raw window untouched."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from tests.integration.test_bounded_growth import (
    BAR_BYTES_MAX,
    NOW,
    WINDOW,
    History,
    assert_folded,
    bar_bytes,
    fold_all,
    insert_refreshes,
    scalar,
)
from workers.handlers.positions.price_history import raw_cutoff


@pytest.mark.chaos_long
@pytest.mark.timeout(3600)
def test_a_day_of_refreshes_for_500_tokens_stays_within_the_stated_storage(
        clean_db: Engine) -> None:
    h = History(tokens=500, old_minutes=1_440, raw_minutes=10)
    day = raw_cutoff(NOW, WINDOW) - timedelta(days=1)
    started, peak_raw = time.monotonic(), 0
    for hour in range(24):
        insert_refreshes(clean_db, h.tokens, day + timedelta(hours=hour), 60)
        peak_raw = max(peak_raw, scalar(clean_db, "SELECT count(*) FROM token_prices"))
        assert fold_all(clean_db) == h.tokens * 60 * 30
    insert_refreshes(clean_db, h.tokens, raw_cutoff(NOW, WINDOW), h.raw_minutes)
    assert fold_all(clean_db) == 0
    assert_folded(clean_db, h)
    per_token = 1_440 * bar_bytes(clean_db)
    print(f"\nprice history, a day of 500 tokens: {h.old_rows:,} raw rows folded into "
          f"{h.tokens * 1_440:,} bars, {per_token / 2**10:.0f} KiB per token per day "
          f"(peak raw rows {peak_raw:,}), in {time.monotonic() - started:.0f}s")
    assert bar_bytes(clean_db) <= BAR_BYTES_MAX
