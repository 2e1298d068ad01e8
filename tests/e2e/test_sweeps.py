"""Beat jobs on the real worker: prices refresh into history and cache, sweeps stop out,
take profit and skip stale prices, snapshots are one row per wallet and hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import redis
from celery import Celery
from sqlalchemy import Engine, select

from domain.ports import PriceQuote
from persistence import models as m
from persistence.cache import PRICES_KEY, Cache
from tests.e2e.conftest import wait_for
from tests.e2e.sweep_helpers import (
    count,
    history,
    open_position,
    position,
    refresh_and_sweep,
    run_task,
    sales,
    wait_idle,
)
from tests.e2e.test_pipeline import DCA_ON, FIXED_SIZE, MINT, agent, set_price

TAKE_PROFIT = {**FIXED_SIZE, "takeProfit": {"enabled": True, "mode": "moderate"}}


def test_a_position_rides_up_and_is_stopped_out_at_the_ratcheted_stop(
        pipeline: Engine, e2e_redis: redis.Redis, sender: Celery) -> None:
    open_position(pipeline, e2e_redis, "rider", FIXED_SIZE)  # 2000 tokens at avg 0.001
    refresh_and_sweep(sender, e2e_redis, "0.0015")  # peak gain 50 % → SL 40 %
    held = position(pipeline)
    assert (held.peak_price, held.current_stop_loss_percentage) == (
        Decimal("0.0015"), Decimal("40"))
    assert count(pipeline, m.TokenPrice) == 1
    assert Cache(e2e_redis).latest_prices([MINT])[MINT].price_sol == Decimal("0.0015")

    refresh_and_sweep(sender, e2e_redis, "0.00145")  # above the 0.0014 stop: hold
    assert position(pipeline).current_stop_loss_percentage == Decimal("40")
    assert sales(pipeline) == []

    set_price(e2e_redis, "0.0014")  # at the stop: the beat's fan-out sweep sells everything
    run_task(sender, e2e_redis, "prices.refresh")
    sender.send_task("positions.sweep", queue="sweeps")
    wait_for(lambda: position(pipeline) is None, what="the stop-loss close")
    [closed] = history(pipeline)
    assert closed.close_reason == "stop_loss"
    assert closed.sale_price == Decimal("0.0014")
    assert closed.profit_loss_sol == Decimal("2.8") - Decimal("0.000005") - Decimal("2.000005")
    assert len(sales(pipeline)) == 1
    assert count(pipeline, m.TokenPrice) == 3


def test_take_profit_sells_the_ladder_once_and_keeps_the_moon_bag(
        pipeline: Engine, e2e_redis: redis.Redis, sender: Celery) -> None:
    open_position(pipeline, e2e_redis, "ladder", TAKE_PROFIT)
    set_price(e2e_redis, "0.0016")  # +60 %: level 50 → sell 25 % of 2000
    run_task(sender, e2e_redis, "prices.refresh")
    for _ in range(2):  # two overlapping sweeps: one sale
        sender.send_task("positions.sweep_tokens", args=[[MINT]], queue="sweeps")
    wait_for(lambda: position(pipeline).take_profit_levels_hit == 1, what="the first level")
    run_task(sender, e2e_redis, "positions.sweep_tokens", [MINT])
    held = position(pipeline)
    assert held.remaining_amount == Decimal("1500")
    assert held.realized_profit_sol == Decimal("0.29999375")  # 0.8 − fee − 500/2000 × invested
    assert not held.moon_bag_activated
    assert [(s.input_amount, s.is_take_profit) for s in sales(pipeline)] == [
        (Decimal("500"), True)]

    refresh_and_sweep(sender, e2e_redis, "0.0045")  # +350 %: levels 150 and 300
    held = position(pipeline)
    assert (held.take_profit_levels_hit, held.remaining_amount) == (3, Decimal("500"))
    assert (held.moon_bag_activated, held.moon_bag_amount) == (True, Decimal("200"))

    refresh_and_sweep(sender, e2e_redis, "0.0051")  # +410 %: the last level, 15 %
    refresh_and_sweep(sender, e2e_redis)  # the ladder is exhausted: nothing more to sell
    held = position(pipeline)
    assert (held.take_profit_levels_hit, held.remaining_amount) == (4, Decimal("200"))
    assert [s.input_amount for s in sales(pipeline)] == [
        Decimal("500"), Decimal("1000"), Decimal("300")]


def test_a_stale_or_missing_cached_price_skips_the_position(
        pipeline: Engine, e2e_redis: redis.Redis, sender: Celery) -> None:
    e2e_redis.delete(PRICES_KEY)  # no cached price left over from an earlier test
    open_position(pipeline, e2e_redis, "careful", FIXED_SIZE)
    set_price(e2e_redis, "0.0001")  # far below the stop, but never refreshed into the cache
    run_task(sender, e2e_redis, "positions.sweep_tokens", [MINT])  # no cached price at all
    old = datetime.now(UTC) - timedelta(seconds=120)
    Cache(e2e_redis).write_prices([PriceQuote(MINT, Decimal("0.0001"), old, "static")])
    run_task(sender, e2e_redis, "positions.sweep_tokens", [MINT])  # cached, but 2 minutes old
    assert position(pipeline) is not None
    assert sales(pipeline) == [] and history(pipeline) == []
    assert position(pipeline).peak_price == Decimal("0.001")


def test_a_snapshot_is_one_row_per_wallet_per_hour(
        pipeline: Engine, e2e_redis: redis.Redis, sender: Celery) -> None:
    trader = open_position(pipeline, e2e_redis, "holder", FIXED_SIZE)
    idle = agent(pipeline, "idle", "3")
    set_price(e2e_redis, "0.0012")
    run_task(sender, e2e_redis, "balances.snapshot")
    run_task(sender, e2e_redis, "balances.snapshot")
    with pipeline.connect() as conn:
        rows = {r.agent_id: r for r in conn.execute(select(m.AgentBalanceSnapshot))}
    assert set(rows) == {trader, idle} and count(pipeline, m.AgentBalanceSnapshot) == 2
    held = rows[trader]
    assert held.snapshot_timestamp == datetime.now(UTC).replace(
        minute=0, second=0, microsecond=0) or held.snapshot_timestamp.minute == 0
    assert (held.sol_balance, held.positions_value_sol) == (Decimal("7.999995"), Decimal("2.4"))
    assert held.unrealized_pnl_sol == Decimal("0.399995")  # 2.4 − 2.000005 invested
    assert held.portfolio_balance_sol == Decimal("10.399995")
    empty = rows[idle]
    assert (empty.sol_balance, empty.positions_value_sol, empty.portfolio_balance_sol) == (
        Decimal("3"), Decimal("0"), Decimal("3"))


def test_a_stale_trade_closes_after_its_hold_time(pipeline: Engine, e2e_redis: redis.Redis,
                                                  sender: Celery) -> None:
    open_position(pipeline, e2e_redis, "patient", FIXED_SIZE)
    refresh_and_sweep(sender, e2e_redis, "0.00105")  # +5 %, but held for less than 60 min
    assert position(pipeline) is not None
    with pipeline.begin() as conn:  # the position (not its ledger rows) is 2 hours old
        conn.execute(m.AgentPosition.__table__.update().values(
            created_at=datetime.now(UTC) - timedelta(hours=2)))
    refresh_and_sweep(sender, e2e_redis)
    assert position(pipeline) is None
    [closed] = history(pipeline)
    assert (closed.close_reason, closed.sale_price) == ("stale_trade", Decimal("0.00105"))


def test_a_dip_buys_more_once_and_restarts_the_take_profit_ladder(
        pipeline: Engine, e2e_redis: redis.Redis, sender: Celery) -> None:
    config = {**DCA_ON, "takeProfit": {"enabled": True, "mode": "moderate"}}
    open_position(pipeline, e2e_redis, "averager", config)
    set_price(e2e_redis, "0.0008")  # −20 %: moderate level 1 buys 75 % of the holding's value
    run_task(sender, e2e_redis, "prices.refresh")
    for _ in range(2):  # overlapping sweeps: one DCA
        sender.send_task("positions.sweep_tokens", args=[[MINT]], queue="sweeps")
    wait_for(lambda: position(pipeline).dca_count == 1, what="the DCA")
    run_task(sender, e2e_redis, "positions.sweep_tokens", [MINT])  # cooldown: no second buy
    held = position(pipeline)
    assert (held.dca_count, held.purchase_amount) == (1, Decimal("3500"))
    assert held.total_invested_sol == Decimal("3.20001")
    assert held.purchase_price == Decimal("0.000914285714285714")  # 3.2 SOL / 3500 tokens
    assert (held.tp_batch_start_level, held.total_take_profit_levels) == (0, 4)
    with pipeline.connect() as conn:
        buys = conn.execute(select(m.AgentTransaction.is_dca).where(
            m.AgentTransaction.output_mint == MINT)).scalars().all()
    assert sorted(buys) == [False, True]


def test_the_downsampling_job_folds_old_price_history_on_the_real_worker(
        pipeline: Engine, e2e_redis: redis.Redis, sender: Celery) -> None:
    """ops.downsample_prices, as beat sends it (maintenance queue): raw rows older than the
    24 h raw window become one bar per minute, newer ones stay raw."""
    old = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=25)
    rows = [PriceQuote(MINT, Decimal("0.001") + Decimal(i) / 10**6, old + timedelta(seconds=2 * i),
                       "static") for i in range(90)]
    with pipeline.begin() as conn:
        conn.execute(m.TokenPrice.__table__.insert(), [{
            "token_address": q.token_address, "price_sol": q.price_sol, "source": q.source,
            "observed_at": q.observed_at} for q in rows] + [{
            "token_address": MINT, "price_sol": Decimal("0.002"), "source": "static",
            "observed_at": datetime.now(UTC)}])
    sender.send_task("ops.downsample_prices", queue="maintenance")
    wait_idle(e2e_redis)
    with pipeline.connect() as conn:
        bars = conn.execute(select(m.TokenPriceBar).order_by(m.TokenPriceBar.minute)).all()
    assert [(b.minute, b.samples, b.open_sol, b.close_sol) for b in bars] == [
        (old + timedelta(minutes=i), 30, Decimal("0.001") + Decimal(30 * i) / 10**6,
         Decimal("0.001") + Decimal(30 * i + 29) / 10**6) for i in range(3)]
    assert count(pipeline, m.TokenPrice) == 1
