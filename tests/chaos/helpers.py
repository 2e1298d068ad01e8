"""Building blocks of the chaos scenarios: agents, mints, bursts of signals, expectations."""

from __future__ import annotations

import hashlib
import json
import uuid
from decimal import Decimal
from typing import Any

import redis
from sqlalchemy import Engine, func, select

from domain.base58 import b58encode
from persistence import models as m
from tests.e2e.test_pipeline import FIXED_SIZE, Clock, agent
from workers.adapters.prices import StaticPriceFeed
from workers.ingest.stream import SIGNALS_STREAM

SMALL = {**FIXED_SIZE, "purchaseLimits": {"maxPurchasePerToken": 0.1},
         "stopLoss": {"enabled": False}, "staleTrade": {"enabled": False}}


def mint(i: int) -> str:
    return b58encode(hashlib.sha256(f"chaos-mint-{i}".encode()).digest())


def make_agents(engine: Engine, n: int, deposit: str = "100",
                config: dict[str, Any] | None = None) -> list[uuid.UUID]:
    return [agent(engine, f"chaos-{i:03d}", deposit, config or SMALL) for i in range(n)]


def set_prices(client: redis.Redis, mints: list[str], price: str = "0.001") -> None:
    feed = StaticPriceFeed(client, Clock())
    for token in mints:
        feed.set_price(token, Decimal(price))


def payload(token: str, i: int, signal_type: str = "buy") -> dict[str, Any]:
    return {"token_address": token, "signal_type": signal_type, "signal_strength": 50,
            "idempotency_key": f"chaos-{i}"}


def plan(n: int, mints: list[str], sell_every: int = 0) -> list[dict[str, Any]]:
    """n signals cycling over the mints; every ``sell_every``-th one is an exit signal."""
    return [payload(mints[i % len(mints)], i,
                    "sell" if sell_every and i % sell_every == sell_every - 1 else "buy")
            for i in range(n)]


def push_all(client: redis.Redis, payloads: list[dict[str, Any]]) -> None:
    pipe = client.pipeline(transaction=False)
    for body in payloads:
        pipe.xadd(SIGNALS_STREAM, {"payload": json.dumps(body)})
    pipe.execute()


def count(engine: Engine, model: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(*where))
                   .scalar_one())


def executions_at_least(engine: Engine, n: int) -> bool:
    return count(engine, m.SignalExecution) >= n


def every_entry_reaches(engine: Engine, agents: list[uuid.UUID]) -> dict[int, set[uuid.UUID]]:
    """The expectation for entry signals: every (signal, agent) pair, exactly once."""
    with engine.connect() as conn:
        ids = conn.execute(select(m.TradingSignal.id).where(
            func.lower(m.TradingSignal.signal_type) != "sell")).scalars()
        return {int(i): set(agents) for i in ids}
