"""A buy that waits for a lock while the sweep closes a position in the token must not make
that close's proceeds count again when the reopened position closes: realized PnL is money
too (the conservation identity of tests/chaos/invariants.py); and the reopening buy is
stamped after the close it waited behind, so the ledger's order is the order things
happened in.

The closes come from the sweep (stop loss, take profit), not from a sell signal: under the
order rule (docs/rules.md §3) a sell received after the buy waits for the buy and closes what
it opened, so it cannot race it; a sell received before the buy holds the buy back without a
lock wait (tests/chaos/test_signal_order.py, tests/integration/test_signal_order.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import redis
from celery import Celery
from sqlalchemy import Engine, select, text

from persistence import models as m
from persistence.cache import Cache
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.chaos.fleet import Fleet, settle
from tests.chaos.helpers import (
    SMALL,
    count,
    make_agents,
    mint,
    payload,
    push_all,
    set_prices,
)
from tests.chaos.invariants import assert_invariants
from tests.chaos.test_redelivery import stored_signal
from tests.e2e.conftest import wait_for
from tests.e2e.sweep_helpers import wait_idle
from workers.handlers.operators.agents import set_config

TOKEN = mint(500)
STOP = {**SMALL, "stopLoss": {"enabled": True}}  # −32 % from the peak
DROP = "0.0005"  # −50 % from the 0.001 entry: past every stop


def test_a_close_during_a_blocked_buy_is_not_counted_twice(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet) -> None:
    """The buy waits for the first agent's lock (the test holds it) while the sweep stops
    the second agent out; the buy then reopens the second agent's position, after the
    close."""
    first, second = sorted(make_agents(chaos, 2))  # the chunk locks them in this order
    set_config(SqlAlchemyUnitOfWork(make_session_factory(chaos)), second, STOP)
    set_prices(e2e_redis, [TOKEN])
    push_all(e2e_redis, [payload(TOKEN, 1)])
    settle(chaos, sender, e2e_redis, signals=1)
    refresh(e2e_redis, sender, DROP)  # only the second agent has a stop loss
    buy = stored_signal(chaos, TOKEN, "reopen")
    with chaos.connect() as conn, conn.begin():  # an entry of `first` holds its lock
        conn.execute(text("SELECT 1 FROM agents WHERE id = :a FOR UPDATE"), {"a": first})
        sender.send_task("signals.execute", args=[buy, [str(first), str(second)]],
                         queue="signals")
        wait_for(lambda: blocked(chaos), what="the buy to wait for the first agent")
        sender.send_task("positions.sweep_tokens", args=[[TOKEN]], queue="sweeps")
        wait_for(lambda: count(chaos, m.AgentHistoricalSwap) == 1, what="the stop loss")
    wait_for(lambda: count(chaos, m.AgentPosition) == 2, what="the reopening buy")
    assert close_reasons(chaos) == ["stop_loss"]
    assert ledger_order(chaos, second) == ["buy", "sell", "buy"]  # stamped after its lock wait
    push_all(e2e_redis, [payload(TOKEN, 2, "sell")])
    settle(chaos, sender, e2e_redis, signals=3)
    assert count(chaos, m.AgentHistoricalSwap) == 3
    assert close_reasons(chaos) == ["stop_loss", "signal", "signal"]
    assert_invariants(chaos)


def test_a_take_profit_sale_during_a_blocked_buy_is_not_counted_in_the_new_position(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet) -> None:
    """The buy waits for its claim (the test holds the signal row) while the sweep takes
    profit and then stops the rest of the position out; the reopened position's PnL must
    not count that take-profit sale (found by the DCA/stop-loss race work; failed before
    the fix)."""
    [agent] = make_agents(chaos, 1, config={
        **STOP, "takeProfit": {"enabled": True, "mode": "moderate"}})
    set_prices(e2e_redis, [TOKEN], "0.001")
    push_all(e2e_redis, [payload(TOKEN, 1)])
    settle(chaos, sender, e2e_redis, signals=1)  # 100 tokens at 0.001
    refresh(e2e_redis, sender, "0.0016")  # +60 %: the first take-profit level
    buy = stored_signal(chaos, TOKEN, "buy-2")
    with chaos.connect() as conn, conn.begin():
        conn.execute(text("SELECT 1 FROM trading_signals WHERE id = :s FOR UPDATE"), {"s": buy})
        sender.send_task("signals.execute", args=[buy, [str(agent)]], queue="signals")
        wait_for(lambda: blocked(chaos), what="the buy to wait for its claim")
        sender.send_task("positions.sweep_tokens", args=[[TOKEN]], queue="sweeps")
        wait_for(lambda: count(chaos, m.AgentTransaction, m.AgentTransaction.is_take_profit),
                 what="the take-profit sale")
        set_prices(e2e_redis, [TOKEN], DROP)  # far below the trailing stop
        sender.send_task("prices.refresh", queue="sweeps")
        wait_for(lambda: cached(e2e_redis) == Decimal(DROP), what="the dropped price")
        sender.send_task("positions.sweep_tokens", args=[[TOKEN]], queue="sweeps")
        wait_for(lambda: count(chaos, m.AgentHistoricalSwap) == 1, what="the stop loss")
    wait_for(lambda: count(chaos, m.AgentPosition) == 1, what="the reopening buy")
    assert ledger_order(chaos, agent) == ["buy", "sell", "sell", "buy"]
    push_all(e2e_redis, [payload(TOKEN, 3, "sell")])
    settle(chaos, sender, e2e_redis, signals=3)
    with chaos.connect() as conn:
        pnl = conn.execute(select(m.AgentHistoricalSwap.profit_loss_sol).order_by(
            m.AgentHistoricalSwap.sale_time)).scalars().all()
    assert close_reasons(chaos) == ["stop_loss", "signal"]
    assert len(pnl) == 2 and pnl[1] < 0  # bought and sold at one price: fees lost only
    assert_invariants(chaos)


def refresh(client: redis.Redis, sender: Celery, price: str) -> None:
    """The feed's price of TOKEN becomes ``price``, and the sweep's cache with it."""
    set_prices(client, [TOKEN], price)
    sender.send_task("prices.refresh", queue="sweeps")
    wait_idle(client)
    assert cached(client) == Decimal(price)


def cached(client: redis.Redis) -> Decimal | None:
    quote = Cache(client).latest_prices([TOKEN]).get(TOKEN)
    return None if quote is None else quote.price_sol


def close_reasons(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(m.AgentHistoricalSwap.close_reason).order_by(
            m.AgentHistoricalSwap.sale_time)).scalars())


def ledger_order(engine: Engine, agent_id: object) -> list[str]:
    tx = m.AgentTransaction
    with engine.connect() as conn:
        rows = conn.execute(select(tx.input_mint).where(
            tx.agent_id == agent_id, tx.transaction_type == "SWAP").order_by(tx.transaction_time))
        return ["sell" if mint_ == TOKEN else "buy" for mint_ in rows.scalars()]


def blocked(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(select(text("count(*)")).select_from(
            text("pg_stat_activity")).where(text(
                "datname = current_database() AND wait_event_type = 'Lock'"))).scalar())
