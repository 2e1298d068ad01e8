"""Tests are safe on a shared machine: the session runs a Redis server of its own, stops every
server it starts, and a unix-socket Redis keeps its database number for the broker, so no test
writes to a database it did not create."""

from __future__ import annotations

import os
from pathlib import Path

import redis
from celery import Celery
from sqlalchemy import Engine, text

from tests.e2e.conftest import answers_ping, start, wait_for
from tests.services import STARTED, RedisServer, TestServers, leaked_processes
from workers.bootstrap import celery_broker_url

BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"


def test_the_session_redis_is_a_server_the_session_started(servers: TestServers,
                                                           redis_url: str) -> None:
    info = redis.Redis.from_url(redis_url).info("server")
    assert servers.redis.popen is not None and info["process_id"] == servers.redis.popen.pid
    assert any(s.pid == info["process_id"] for s in STARTED)
    assert info["tcp_port"] != 6379


def test_a_stopped_server_leaves_no_process_and_a_running_one_is_named(tmp_path: Path) -> None:
    server = RedisServer(tmp_path, unix_socket=True)
    server.start()
    assert server.popen is not None
    mark = f"(pid {server.popen.pid})"
    try:
        assert any(mark in leak for leak in leaked_processes(grace=0))
    finally:
        server.stop()
    assert not any(mark in leak for leak in leaked_processes(grace=0))


def test_a_celery_round_trip_on_a_unix_socket_stays_in_its_database(
        tmp_path: Path, stack_env: dict[str, str], clean_db: Engine) -> None:
    server = RedisServer(tmp_path / "redis", unix_socket=True)
    server.dir.mkdir()
    server.start()
    url = server.url_for(3)
    db3, db0 = redis.Redis.from_url(url), redis.Redis.from_url(server.url)
    sender = Celery("socket-sender", broker=celery_broker_url(url))
    worker = None
    try:
        sender.send_task("signals.ingest", args=[{"token_address": BONK, "signal_type": "buy",
                                                  "signal_strength": 60}], queue="signals")
        assert (db3.llen("signals"), db0.dbsize()) == (1, 0)
        name = f"socket-{os.getpid()}@{os.uname().nodename}"
        worker = start("socket-worker", ["worker", "-c", "1", "-n", name],
                       {**stack_env, "SIGNALFLEET_REDIS_URL": url}, tmp_path,
                       lambda p: answers_ping(sender, name))

        def ingested() -> int:
            with clean_db.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM trading_signals")).scalar_one())

        wait_for(lambda: ingested() == 1 and db3.llen("signals") == 0, 60,
                 "the worker to take the message from database 3")
        assert db0.dbsize() == 0, sorted(db0.keys())
    finally:
        if worker is not None:
            worker.stop()
        sender.close()
        server.stop()
