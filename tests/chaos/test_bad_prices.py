"""Scenario 7: garbage, negative, zero, non-finite and missing prices. The real worker never
trades on them: entries and exits are SKIPPED ``price_unavailable``, a sweep sells nothing,
and the ledger does not move."""

from __future__ import annotations

import json

import redis
from celery import Celery
from sqlalchemy import Engine, select

from persistence import models as m
from tests.chaos.fleet import Fleet, settle
from tests.chaos.helpers import count, make_agents, mint, payload, push_all, set_prices
from tests.chaos.invariants import assert_invariants
from tests.e2e.sweep_helpers import wait_idle
from workers.adapters.prices import STATIC_PRICES_KEY

BAD = {
    "garbage": "not json at all",
    "negative": json.dumps({"price_sol": "-0.001", "set_at": "2026-01-01T00:00:00+00:00"}),
    "zero": json.dumps({"price_sol": "0"}),
    "nan": json.dumps({"price_sol": "NaN"}),
    "infinite": json.dumps({"price_sol": "Infinity"}),
    "a float literal": '{"price_sol": -1e400}',
    "not a number": json.dumps({"price_sol": "cheap"}),
    "a list": json.dumps(["0.001"]),
    "no price_sol": json.dumps({"price_usd": "0.15"}),
}


def outcomes(engine: Engine) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(  # type: ignore[misc]
            m.SignalExecution.status, m.SignalExecution.action, m.SignalExecution.reason))]


def by_token(engine: Engine) -> dict[str, set[str | None]]:
    e, s = m.SignalExecution, m.TradingSignal
    with engine.connect() as conn:
        rows = conn.execute(select(s.token_address, e.reason).join(s, s.id == e.signal_id))
        names = {mint(100 + i): name for i, name in enumerate([*BAD, "missing"])}
        out: dict[str, set[str | None]] = {}
        for token, reason in rows:
            out.setdefault(names.get(token, token), set()).add(reason)
    return out


def test_no_trade_on_a_bad_or_missing_price(chaos: Engine, e2e_redis: redis.Redis,
                                            sender: Celery, fleet: Fleet) -> None:
    agents = make_agents(chaos, 3)
    tokens = [mint(100 + i) for i in range(len(BAD) + 1)]  # the last one: no price at all
    for token, raw in zip(tokens, BAD.values(), strict=False):
        e2e_redis.hset(STATIC_PRICES_KEY, token, raw)
    push_all(e2e_redis, [payload(t, i) for i, t in enumerate(tokens)])
    settle(chaos, sender, e2e_redis, signals=len(tokens))
    assert set(outcomes(chaos)) == {("SKIPPED", "none", "price_unavailable")}, by_token(chaos)
    assert len(outcomes(chaos)) == len(tokens) * len(agents)
    assert count(chaos, m.AgentTransaction, m.AgentTransaction.transaction_type == "SWAP") == 0

    held = tokens[0]  # a position opened at a good price, then its price turns bad
    set_prices(e2e_redis, [held], "0.001")
    push_all(e2e_redis, [payload(held, 100)])
    settle(chaos, sender, e2e_redis, signals=len(tokens) + 1)
    assert count(chaos, m.AgentPosition) == len(agents)
    for i, raw in enumerate(BAD.values()):
        e2e_redis.hset(STATIC_PRICES_KEY, held, raw)
        sender.send_task("prices.refresh", queue="sweeps")
        sender.send_task("positions.sweep", queue="sweeps")
        push_all(e2e_redis, [payload(held, 200 + i, "sell")])
        settle(chaos, sender, e2e_redis, signals=len(tokens) + 2 + i)
        wait_idle(e2e_redis)
    assert count(chaos, m.AgentPosition) == len(agents)
    assert count(chaos, m.AgentHistoricalSwap) == 0
    sells = [o for o in outcomes(chaos) if o[2] != "price_unavailable" or o[0] != "SKIPPED"]
    assert {o[1] for o in sells} == {"open"}  # every exit was skipped on its bad price
    assert_invariants(chaos)
