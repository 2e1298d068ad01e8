"""Token price history (``token_prices``): append-only rows, written in batches."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.orm import Session

from domain.money import price
from domain.ports import PriceQuote
from persistence import models as m


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
