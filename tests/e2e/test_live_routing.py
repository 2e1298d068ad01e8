"""Keys only where live work runs (docs/rules.md §12), with real worker processes: live tasks
are routed to the ``live`` queue, a worker without keys (the default queues) never consumes
it, and a worker asked to serve it refuses to start without the key of every live wallet
assigned in the database — one line naming the wallet and the fix, no traceback."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import redis
from celery import Celery
from sqlalchemy import Engine

from tests.e2e.conftest import Proc
from tests.integration.live_support import close_chains, live
from workers.bootstrap import celery_broker_url
from workers.celery_app import ROUTES

__all__ = ["close_chains"]


def test_a_worker_without_keys_never_takes_a_live_task(
        redis_url: str, worker: Proc, clean_db: Engine) -> None:
    routed = Celery("routing-sender", broker=celery_broker_url(redis_url))
    routed.conf.task_routes = ROUTES  # the deployment's routes, as every producer has them
    client = redis.Redis.from_url(redis_url)
    client.delete("live")
    try:
        routed.send_task("live.execute", args=[str(uuid.uuid4())])
        time.sleep(2)  # the session's worker (signals, sweeps, maintenance) had its chance
        assert client.llen("live") == 1  # still queued: only a live worker takes it
        assert worker.popen.poll() is None
        assert "live.execute[" not in worker.output()  # never received
    finally:
        client.delete("live")


def test_the_reconciler_runs_on_any_worker() -> None:
    """It signs nothing, so a deployment without a live worker does not pile a message per
    beat run onto the live queue."""
    assert ROUTES["live.reconcile"] == {"queue": "maintenance"}


@pytest.mark.parametrize("args", [["--live"], ["-Q", "signals,live"]])
def test_a_live_worker_without_an_assigned_key_refuses_to_start(
        stack_env: dict[str, str], clean_db: Engine, tmp_path: Path, args: list[str]) -> None:
    lv = live(clean_db)
    lv.agent("needs-key")  # a live wallet assigned in the database
    env = {k: v for k, v in stack_env.items() if not k.startswith("WALLET_")}
    proc = Proc("live-worker", ["worker", "-n", f"refuse-{time.monotonic_ns()}@x", *args],
                env, tmp_path / "live.log")
    try:
        assert proc.popen.wait(60) == 2
    finally:
        proc.stop()
    out = proc.output()
    assert f"no key loaded for live wallet {lv.address}" in out
    assert "WALLET_n" in out and "Traceback" not in out
    [line] = [ln for ln in out.splitlines() if "refusing to serve the live queue" in ln]
    assert lv.address in line  # one line names the wallet and the fix
