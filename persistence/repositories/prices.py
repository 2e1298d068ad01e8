"""Token price history: raw rows (``token_prices``), written in batches, and the 1-minute bars
(``token_price_bars``) that raw rows older than the raw window are folded into."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from domain.money import price
from domain.ports import PriceQuote
from persistence import models as m

# pg_try_advisory_xact_lock key of the downsampling job: one fold at a time, fleet-wide.
DOWNSAMPLE_LOCK = 0x5F_0001

# Deletes the raw rows of [oldest, upper) and upserts their bars in one statement. A bar met
# again (a raw row that arrived late for a folded minute) widens high/low, adds its samples
# and takes the later close.
_FOLD = text("""
WITH moved AS (
    DELETE FROM token_prices WHERE observed_at < :upper
    RETURNING id, token_address, price_sol, price_usd, observed_at
), bars AS (
    SELECT token_address, date_trunc('minute', observed_at, 'UTC') AS minute,
           (array_agg(price_sol ORDER BY observed_at, id))[1] AS open_sol,
           max(price_sol) AS high_sol, min(price_sol) AS low_sol,
           (array_agg(price_sol ORDER BY observed_at DESC, id DESC))[1] AS close_sol,
           (array_agg(price_usd ORDER BY observed_at DESC, id DESC))[1] AS close_usd,
           count(*) AS samples
    FROM moved GROUP BY 1, 2
), upserted AS (
    INSERT INTO token_price_bars AS b
        (token_address, minute, open_sol, high_sol, low_sol, close_sol, close_usd, samples)
    SELECT * FROM bars
    ON CONFLICT (token_address, minute) DO UPDATE SET
        high_sol = greatest(b.high_sol, excluded.high_sol),
        low_sol = least(b.low_sol, excluded.low_sol),
        close_sol = excluded.close_sol, close_usd = excluded.close_usd,
        samples = b.samples + excluded.samples
    RETURNING 1
)
SELECT count(*) FROM moved
""")


class TokenPriceRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add_many(self, quotes: Iterable[PriceQuote]) -> int:
        """Insert one history row per quote in a single statement; returns the row count."""
        rows = [{
            "token_address": q.token_address, "price_sol": price(q.price_sol),
            "price_usd": None if q.price_usd is None else price(q.price_usd),
            "source": q.source[:32], "observed_at": q.observed_at,
        } for q in quotes]
        if rows:
            self._s.execute(insert(m.TokenPrice), rows)
        return len(rows)

    def fold_into_bars(self, cutoff: datetime, span: timedelta) -> int:
        """Fold the oldest raw rows before ``cutoff`` (a whole minute), at most ``span`` of
        them from the oldest minute on, into 1-minute bars; returns the raw rows folded. 0
        when none is left, or when another transaction is folding (the advisory lock, held
        to this transaction's end, makes two beat runs at once safe)."""
        if not self._s.execute(select(func.pg_try_advisory_xact_lock(DOWNSAMPLE_LOCK))).scalar():
            return 0
        oldest = self._s.execute(select(func.min(m.TokenPrice.observed_at)).where(
            m.TokenPrice.observed_at < cutoff)).scalar()
        if oldest is None:
            return 0
        upper = min(cutoff, oldest.replace(second=0, microsecond=0) + span)
        return int(self._s.execute(_FOLD, {"upper": upper}).scalar_one())
