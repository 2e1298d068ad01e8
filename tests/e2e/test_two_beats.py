"""Two beat processes for a minute against the real worker (issue 5): every job runs twice
as often as one beat would send it, yet each take-profit, stop-loss and DCA happens once and
the hourly snapshot is one row per wallet."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from sqlalchemy import Engine, func, select

from persistence import models as m
from tests.e2e.conftest import Proc, start, wait_for
from tests.e2e.sweep_helpers import history, wait_idle
from tests.e2e.test_pipeline import DCA_ON, FIXED_SIZE, MINT, agent, push, set_price, signal_done

RUN_SECONDS = 60
NO_STOP = {"stopLoss": {"enabled": False}}
CONFIGS = {  # one trigger each, on one token's price path: 0.001 → 0.0016 → 0.0008
    "taker": {**FIXED_SIZE, **NO_STOP, "takeProfit": {"enabled": True, "mode": "moderate"}},
    "averager": {**DCA_ON, **NO_STOP, "dca": {**DCA_ON["dca"], "cooldownSeconds": 3600}},
    "stopper": FIXED_SIZE,  # peak +60 % → stop 50 %, hit by the fall
}


@pytest.fixture
def two_beats(pipeline: Engine, stack_env: dict[str, str],
              tmp_path: Path) -> Iterator[list[Proc]]:
    procs: list[Proc] = []
    try:
        for i in (1, 2):
            var = tmp_path / f"beat{i}"
            env = {**stack_env, "SIGNALFLEET_VAR_DIR": str(var),
                   "SIGNALFLEET_PRICES_REFRESH_SECONDS": "0.5",
                   "SIGNALFLEET_POSITIONS_SWEEP_SECONDS": "0.5"}
            procs.append(start(f"beat{i}", ["beat"], env, tmp_path,
                               lambda p: "beat: Starting" in p.output()))
        yield procs
    finally:
        for proc in procs:
            proc.stop()


@pytest.mark.timeout(150)
def test_two_beats_for_a_minute_sell_buy_and_snapshot_exactly_once(
        pipeline: Engine, e2e_redis: redis.Redis, sender: Celery,
        two_beats: list[Proc]) -> None:
    started = time.monotonic()
    ids = {name: agent(pipeline, name, "10", config) for name, config in CONFIGS.items()}
    set_price(e2e_redis, "0.001")
    push(e2e_redis)
    wait_for(lambda: signal_done(pipeline, 1) and len(positions(pipeline)) == 3,
             what="three positions")
    snapshot_twice(sender)

    set_price(e2e_redis, "0.0016")  # +60 %: the taker's first level, the stopper's peak
    wait_for(lambda: levels_hit(pipeline, ids["taker"]) == 1, what="the take-profit sale")
    wait_for(lambda: stop_of(pipeline, ids["stopper"]) == Decimal(50), what="the ratchet")
    set_price(e2e_redis, "0.0008")  # −20 % from the open: the stop and the first DCA level
    wait_for(lambda: ids["stopper"] not in positions(pipeline), what="the stop-loss close")
    wait_for(lambda: dca_count(pipeline, ids["averager"]) == 1, what="the DCA")

    while time.monotonic() - started < RUN_SECONDS:  # both beats keep sweeping: nothing more
        assert_once(pipeline, ids)
        time.sleep(1)
    snapshot_twice(sender)
    for proc in two_beats:
        assert proc.popen.poll() is None, proc.output()[-2000:]
        proc.stop()
    wait_idle(e2e_redis)
    assert_once(pipeline, ids)
    per_hour = snapshots_per_wallet_hour(pipeline)  # two hours if the run spans :00
    assert set(per_hour.values()) == {1} and len({w for w, _ in per_hour}) == 3
    with pipeline.connect() as conn:  # one beat refreshes ≤ 2 times a second; two do more
        refreshes = conn.execute(select(func.count()).select_from(m.TokenPrice)).scalar_one()
    assert refreshes > 2 * (time.monotonic() - started), refreshes


def snapshot_twice(sender: Celery) -> None:
    """What each beat sends at the top of the hour, overlapping."""
    for _ in range(2):
        sender.send_task("balances.snapshot", queue="maintenance")


def assert_once(engine: Engine, ids: dict[str, uuid.UUID]) -> None:
    with engine.connect() as conn:
        swaps = list(conn.execute(select(m.AgentTransaction).where(
            m.AgentTransaction.transaction_type == "SWAP")))
    sells = sorted((s.agent_id, s.is_take_profit) for s in swaps if s.input_mint == MINT)
    buys = sorted((s.agent_id, s.is_dca) for s in swaps if s.output_mint == MINT)
    assert sells == sorted([(ids["taker"], True), (ids["stopper"], False)])
    assert buys == sorted([*[(i, False) for i in ids.values()], (ids["averager"], True)])
    assert [(h.agent_id, h.close_reason) for h in history(engine)] == [
        (ids["stopper"], "stop_loss")]
    held = positions(engine)
    assert held[ids["taker"]].remaining_amount == Decimal("1500")
    assert held[ids["averager"]].dca_count == 1


def positions(engine: Engine) -> dict[uuid.UUID, Any]:
    with engine.connect() as conn:
        return {p.agent_id: p for p in conn.execute(select(m.AgentPosition))}


def levels_hit(engine: Engine, agent_id: uuid.UUID) -> int:
    held = positions(engine).get(agent_id)
    return 0 if held is None else int(held.take_profit_levels_hit)


def stop_of(engine: Engine, agent_id: uuid.UUID) -> Decimal | None:
    held = positions(engine).get(agent_id)
    return None if held is None else held.current_stop_loss_percentage


def dca_count(engine: Engine, agent_id: uuid.UUID) -> int:
    held = positions(engine).get(agent_id)
    return 0 if held is None else int(held.dca_count)


def snapshots_per_wallet_hour(engine: Engine) -> dict[tuple[str, Any], int]:
    snap = m.AgentBalanceSnapshot
    with engine.connect() as conn:
        rows = conn.execute(select(snap.wallet_address, snap.snapshot_timestamp, func.count())
                            .group_by(snap.wallet_address, snap.snapshot_timestamp))
        return {(wallet, hour): int(n) for wallet, hour, n in rows}
