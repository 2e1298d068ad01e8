"""`fleet run` on an empty database: the demo trades happen, as the README promises."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from persistence import models as m
from persistence import schema
from persistence.db import make_engine
from tests.e2e.conftest import ROOT, wait_for
from tests.invariants import assert_ledger_invariant
from tests.services import RedisServer, TestServers, create_database, drop_database


@pytest.fixture
def demo_stack(servers: TestServers, tmp_path: Path) -> Iterator[tuple[Engine, dict[str, str]]]:
    url = create_database(servers.admin_database_url, prefix="sf_demo")
    # A private Redis server: the demo's worker must see no other test's queues.
    cache = RedisServer(tmp_path, unix_socket=True)
    cache.start()
    redis_url = cache.url
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNALFLEET_")}
    env.update({"SIGNALFLEET_DATABASE_URL": url, "SIGNALFLEET_REDIS_URL": redis_url,
                "SIGNALFLEET_VAR_DIR": str(tmp_path), "SIGNALFLEET_REPLAY_SPEED": "1",
                "SIGNALFLEET_FLOWER_PORT": "0"})
    engine = make_engine(url)
    yield engine, env
    engine.dispose()
    drop_database(servers.admin_database_url, url)
    cache.stop()


def test_the_demo_opens_dcas_takes_profit_and_stops_out(demo_stack: tuple[Engine, dict[str, str]],
                                                        ) -> None:
    engine, env = demo_stack
    log = Path(env["SIGNALFLEET_VAR_DIR"]) / "run.log"
    proc = subprocess.Popen([sys.executable, "-m", "workers.cli", "run", "--no-view"], env=env,
                            cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        def closed() -> list[str]:
            with engine.connect() as conn:
                return sorted(conn.execute(select(m.AgentHistoricalSwap.close_reason)).scalars())

        wait_for(lambda: schema.current_revision(engine) == schema.head_revision(), 60,
                 "`fleet run` to migrate the database")
        wait_for(lambda: len(closed()) == 3, 180, "the demo's three closes")
        assert closed() == ["signal", "stop_loss", "stop_loss"]
        with engine.connect() as conn:
            swaps = conn.execute(select(m.AgentTransaction).where(
                m.AgentTransaction.transaction_type == "SWAP")).all()
        kinds = [(s.input_symbol, s.output_symbol, s.is_dca, s.is_take_profit) for s in swaps]
        assert sum(s.is_dca for s in swaps) == 1, kinds
        assert sum(s.is_take_profit for s in swaps) == 3
        assert_ledger_invariant(engine)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(30) == 0
