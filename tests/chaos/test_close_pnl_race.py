"""A buy that waits for one agent's lock while another agent's position in the token is
closed must not make that close's proceeds count again when the reopened position closes:
realized PnL is money too (the conservation identity of tests/chaos/invariants.py); and the
reopening buy is stamped after the close it waited behind, so the ledger's order is the
order things happened in."""

from __future__ import annotations

import redis
from celery import Celery
from sqlalchemy import Engine, select, text

from persistence import models as m
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

TOKEN = mint(500)


def test_a_close_during_a_blocked_buy_is_not_counted_twice(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet) -> None:
    first, second = sorted(make_agents(chaos, 2))  # the chunk locks them in this order
    set_prices(e2e_redis, [TOKEN])
    push_all(e2e_redis, [payload(TOKEN, 1)])
    settle(chaos, sender, e2e_redis, signals=1)
    with chaos.connect() as conn, conn.begin():  # an entry of `first` holds its lock
        conn.execute(text("SELECT 1 FROM agents WHERE id = :a FOR UPDATE"), {"a": first})
        buy = stored_signal(chaos, TOKEN, "reopen")
        sender.send_task("signals.execute", args=[buy, [str(first), str(second)]],
                         queue="signals")
        wait_for(lambda: blocked(chaos), what="the buy to wait for the first agent")
        sell = stored_signal(chaos, TOKEN, "close-second", "sell")
        sender.send_task("signals.execute", args=[sell, [str(second)]], queue="signals")
        wait_for(lambda: count(chaos, m.AgentHistoricalSwap) == 1, what="the close")
    wait_for(lambda: count(chaos, m.AgentPosition) == 2, what="the reopening buy")
    assert ledger_order(chaos, second) == ["buy", "sell", "buy"]  # stamped after its lock wait
    push_all(e2e_redis, [payload(TOKEN, 2, "sell")])
    settle(chaos, sender, e2e_redis, signals=4)
    assert count(chaos, m.AgentHistoricalSwap) == 3
    assert_invariants(chaos)


def test_a_take_profit_sale_during_a_blocked_buy_is_not_counted_in_the_new_position(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet) -> None:
    """The buy waits for its claim (the test holds the signal row) while the sweep takes
    profit and a sell closes the position; the reopened position's PnL must not count that
    take-profit sale (found by the DCA/stop-loss race work; failed before the fix)."""
    [agent] = make_agents(chaos, 1, config={
        **SMALL, "takeProfit": {"enabled": True, "mode": "moderate"}})
    set_prices(e2e_redis, [TOKEN], "0.001")
    push_all(e2e_redis, [payload(TOKEN, 1)])
    settle(chaos, sender, e2e_redis, signals=1)  # 100 tokens at 0.001
    set_prices(e2e_redis, [TOKEN], "0.0016")  # +60 %: the first take-profit level
    sender.send_task("prices.refresh", queue="sweeps")
    wait_idle(e2e_redis)
    buy = stored_signal(chaos, TOKEN, "buy-2")
    with chaos.connect() as conn, conn.begin():
        conn.execute(text("SELECT 1 FROM trading_signals WHERE id = :s FOR UPDATE"), {"s": buy})
        sender.send_task("signals.execute", args=[buy, [str(agent)]], queue="signals")
        wait_for(lambda: blocked(chaos), what="the buy to wait for its claim")
        sender.send_task("positions.sweep_tokens", args=[[TOKEN]], queue="sweeps")
        wait_for(lambda: count(chaos, m.AgentTransaction, m.AgentTransaction.is_take_profit),
                 what="the take-profit sale")
        sell = stored_signal(chaos, TOKEN, "sell-1", "sell")
        sender.send_task("signals.execute", args=[sell, [str(agent)]], queue="signals")
        wait_for(lambda: count(chaos, m.AgentHistoricalSwap) == 1, what="the close")
    wait_for(lambda: count(chaos, m.AgentPosition) == 1, what="the reopening buy")
    assert ledger_order(chaos, agent) == ["buy", "sell", "sell", "buy"]
    push_all(e2e_redis, [payload(TOKEN, 3, "sell")])
    settle(chaos, sender, e2e_redis, signals=4)
    with chaos.connect() as conn:
        pnl = conn.execute(select(m.AgentHistoricalSwap.profit_loss_sol).order_by(
            m.AgentHistoricalSwap.sale_time)).scalars().all()
    assert len(pnl) == 2 and pnl[1] < 0  # bought and sold at one price: fees lost only
    assert_invariants(chaos)


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
