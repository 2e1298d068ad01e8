"""Helpers for the position-management e2e tests: open a position through a pushed signal,
send a beat task to the real worker and wait until its handler has logged completion."""

from __future__ import annotations

import time
import uuid
from typing import Any

import redis
from celery import Celery
from sqlalchemy import Engine, func, select

from persistence import models as m
from tests.e2e.conftest import wait_for
from tests.e2e.test_pipeline import MINT, agent, push, set_price, signal_done

QUEUES = {"balances": "maintenance"}


def open_position(engine: Engine, client: redis.Redis, name: str, config: dict[str, Any],
                  price: str = "0.001", signals: int = 1) -> uuid.UUID:
    """An agent (10 SOL) that opens a position in MINT at ``price`` through a pushed signal."""
    agent_id = agent(engine, name, "10", config)
    set_price(client, price)
    push(client)
    wait_for(lambda: signal_done(engine, signals), what="the opening signal")
    return agent_id


def run_task(sender: Celery, client: redis.Redis, name: str, *args: Any) -> None:
    """Send a task and wait until the worker is idle again (task logs stay in the children)."""
    queue = QUEUES.get(name.split(".")[0], "sweeps")
    sender.send_task(name, args=list(args), queue=queue)
    wait_idle(client)


def wait_idle(client: redis.Redis, settle: int = 6) -> None:
    """No message queued and none delivered but unacknowledged (acks are late), for
    ``settle`` checks in a row: every task sent so far, and what it sent, has finished."""
    quiet = 0
    deadline = time.monotonic() + 30
    while quiet < settle:
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the worker to go idle")
        busy = sum(int(client.llen(q)) for q in ("sweeps", "maintenance", "signals"))
        busy += int(client.hlen("unacked"))
        quiet = 0 if busy else quiet + 1
        time.sleep(0.05)


def refresh_and_sweep(sender: Celery, client: redis.Redis, price: str | None = None) -> None:
    """Set the static price (optionally), refresh the cache, then sweep MINT."""
    if price is not None:
        set_price(client, price)
    run_task(sender, client, "prices.refresh")
    run_task(sender, client, "positions.sweep_tokens", [MINT])


def position(engine: Engine) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(m.AgentPosition)).one_or_none()


def sales(engine: Engine) -> list[Any]:
    """Every sale of MINT, oldest first."""
    with engine.connect() as conn:
        return list(conn.execute(select(m.AgentTransaction).where(
            m.AgentTransaction.input_mint == MINT).order_by(m.AgentTransaction.transaction_time)))


def history(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(m.AgentHistoricalSwap)))


def count(engine: Engine, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


