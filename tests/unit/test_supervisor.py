"""``fleet run``'s supervisor on real child processes: a child that exits is started again
after a backoff that doubles while it keeps failing, the others keep running, and each exit
is one line naming the child, its exit code and its log."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tests.e2e.conftest import wait_for
from workers.cli.supervisor import Backoff, Group

CRASH = [sys.executable, "-c", "import sys; print('up', flush=True); sys.exit(3)"]
STEADY = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_a_crashed_child_is_started_again_with_backoff_and_the_rest_keeps_running(
        tmp_path: Path) -> None:
    said: list[str] = []
    group = Group({"ingest": CRASH, "worker": STEADY}, {}, tmp_path, said.append,
                  Backoff(first=0.3, cap=1.2, stable_after=30))
    group.start()
    steady = group.children["worker"].popen
    try:
        def restarts() -> int:
            group.check()
            return group.children["ingest"].restarts

        started = time.monotonic()
        wait_for(lambda: restarts() >= 4, 20, "four restarts of the crashing child")
        took = time.monotonic() - started
    finally:
        group.stop(grace=5)
    assert took >= 0.3 + 0.6 + 1.2 + 1.2 - 0.5  # 0.3 s, doubling, capped at 1.2 s
    assert group.children["worker"].popen is steady and group.children["worker"].restarts == 0
    assert said[0] == (f"ingest exited with 3 after 0s; starting it again in 0.3s; see "
                       f"{tmp_path / 'ingest.log'}")
    assert len(said) >= 4 and all(line.startswith("ingest exited with 3") for line in said)
    assert (tmp_path / "ingest.log").read_text().count("up") >= 4  # one log, appended to


def test_a_child_that_ran_a_while_starts_again_after_the_first_delay() -> None:
    backoff = Backoff(first=1, cap=60, stable_after=60)
    assert [backoff.delay(n) for n in (1, 2, 3, 7, 8)] == [1, 2, 4, 60, 60]


def test_stop_ends_every_child(tmp_path: Path) -> None:
    group = Group({"a": STEADY, "b": STEADY}, {}, None, print, Backoff())
    group.start()
    group.stop(grace=5)
    assert all(not c.running() for c in group.children.values())
