"""Redis write-through caches, written from after-commit hooks only (never before commit).

Layout (all values are decimal strings or JSON with decimal strings):
- ``sf:balances:{wallet}``     hash mint → balance
- ``sf:positions:{agent_id}``  hash token → position summary JSON (deleted on close)
- ``sf:prices``                hash token → {"price_sol", "price_usd", "observed_at", "source"}
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import redis

from domain.ports import CacheWriter, PriceQuote
from domain.positions import Position

PRICES_KEY = "sf:prices"


def balances_key(wallet_address: str) -> str:
    return f"sf:balances:{wallet_address}"


def positions_key(agent_id: uuid.UUID) -> str:
    return f"sf:positions:{agent_id}"


def _position_summary(p: Position) -> str:
    return json.dumps({
        "id": str(p.id), "purchase_price": str(p.purchase_price),
        "holding": str(p.holding), "total_invested_sol": str(p.total_invested_sol),
        "stop_loss_percentage": None if p.current_stop_loss_percentage is None
        else str(p.current_stop_loss_percentage),
        "peak_price": None if p.peak_price is None else str(p.peak_price),
        "dca_count": p.dca_count, "updated_at": p.updated_at.isoformat(),
    })


class Cache:
    def __init__(self, client: redis.Redis) -> None:
        self._r = client

    def write(self, *, balances: Mapping[str, Mapping[str, Decimal]] | None = None,
              positions: Iterable[Position] = (),
              closed: Iterable[tuple[uuid.UUID, str]] = ()) -> None:
        """Write committed values: balances per wallet, open positions, closed (agent, token)."""
        pipe = self._r.pipeline(transaction=False)
        for wallet, values in (balances or {}).items():
            if values:
                pipe.hset(balances_key(wallet), mapping={k: str(v) for k, v in values.items()})
        for p in positions:
            pipe.hset(positions_key(p.agent_id), p.token_address, _position_summary(p))
        for agent_id, token in closed:
            pipe.hdel(positions_key(agent_id), token)
        pipe.execute()

    def balances(self, wallet_address: str) -> dict[str, Decimal]:
        raw: dict[Any, Any] = self._r.hgetall(balances_key(wallet_address))  # type: ignore[assignment]
        return {_text(k): Decimal(_text(v)) for k, v in raw.items()}

    def positions(self, agent_id: uuid.UUID) -> dict[str, dict[str, Any]]:
        raw: dict[Any, Any] = self._r.hgetall(positions_key(agent_id))  # type: ignore[assignment]
        return {_text(k): json.loads(_text(v)) for k, v in raw.items()}

    def write_prices(self, quotes: Iterable[PriceQuote]) -> None:
        mapping = {q.token_address: json.dumps({
            "price_sol": str(q.price_sol),
            "price_usd": None if q.price_usd is None else str(q.price_usd),
            "observed_at": q.observed_at.isoformat(), "source": q.source}) for q in quotes}
        if mapping:
            self._r.hset(PRICES_KEY, mapping=mapping)

    def latest_prices(self, tokens: Iterable[str]) -> dict[str, PriceQuote]:
        wanted = list(tokens)
        if not wanted:
            return {}
        values: list[Any] = self._r.hmget(PRICES_KEY, wanted)  # type: ignore[assignment]
        out: dict[str, PriceQuote] = {}
        for token, raw in zip(wanted, values, strict=True):
            if raw is not None:
                data = json.loads(_text(raw))
                out[token] = PriceQuote(
                    token_address=token, price_sol=Decimal(data["price_sol"]),
                    price_usd=None if data["price_usd"] is None else Decimal(data["price_usd"]),
                    observed_at=datetime.fromisoformat(data["observed_at"]),
                    source=data["source"])
        return out


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def as_port(cache: Cache) -> CacheWriter:
    """mypy checks here that the cache implements the write-through port."""
    return cache
