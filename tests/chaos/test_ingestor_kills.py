"""The low-latency path under SIGKILL: the stream ingestor executes small fan-outs itself
(workers/handlers/signals/fan_out.py ``fan_out_here``), so it is now a process that can die
mid-trade. Killed again and again while it executes, it loses and doubles nothing: PostgreSQL
rolls back the transaction it did not commit, the outbox sweeper re-fans a signal whose
fan-out did not finish, a message it had read but not acknowledged is claimed by the next
ingestor, and the per-agent claim keeps every execution single."""

from __future__ import annotations

import os
import signal
import time

import pytest
import redis
from celery import Celery
from sqlalchemy import Engine

from persistence import models as m
from tests.chaos.fleet import Fleet, settle
from tests.chaos.helpers import (
    count,
    every_entry_reaches,
    executions_at_least,
    make_agents,
    mint,
    plan,
    push_all,
    set_prices,
)
from tests.chaos.invariants import assert_invariants
from tests.e2e.conftest import Proc, wait_for

SIGNALS = 60
TOKENS = [mint(100 + i) for i in range(5)]


@pytest.mark.chaos_long  # 75 s: a killed ingestor's unacknowledged messages wait 30 s
def test_sigkill_of_the_ingestor_while_it_executes(chaos: Engine, e2e_redis: redis.Redis,
                                                   sender: Celery, fleet: Fleet) -> None:
    agents = make_agents(chaos, 5)  # at most SIGNALFLEET_INLINE_FANOUT_AGENTS (10): inline
    set_prices(e2e_redis, TOKENS)
    payloads = plan(SIGNALS, TOKENS, sell_every=4)
    ingestors: list[Proc] = []
    unfinished: list[int] = []
    for i in range(0, SIGNALS, 2):  # two at a time: batches small enough for the inline path
        push_all(e2e_redis, payloads[i:i + 2])
        if i in (12, 30, 46):
            wait_for(lambda n=i: executions_at_least(chaos, 2 * n), what="executions")
            proc = fleet.ingestor
            assert proc is not None
            os.kill(proc.popen.pid, signal.SIGKILL)
            proc.popen.wait(10)
            unfinished.append(count(chaos, m.TradingSignal,
                                    m.TradingSignal.status != "processed"))
            ingestors.append(proc)
            fleet.start_ingestor()
        time.sleep(0.03)
    assert any(unfinished), f"every kill came between signals: {unfinished}"
    settle(chaos, sender, e2e_redis, timeout=120, signals=SIGNALS)
    assert fleet.ingestor is not None
    ingestors.append(fleet.ingestor)
    assert any("signal.executed" in p.output() for p in ingestors), "nothing ran inline"
    assert_invariants(chaos, every_entry_reaches(chaos, agents))
