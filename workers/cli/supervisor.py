"""``fleet run``'s supervisor: one process group per child (worker, beat, ingestor, Flower).

A child that exits — a crash, a kill, the kernel's OOM killer — is started again after a
backoff (1 s, doubling to 60 s while it keeps failing within a minute of its start; back to
1 s once it has run a minute), with one line naming it, its exit code and its log. The rest
keeps running meanwhile; the group stops only on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


@dataclass(frozen=True)
class Backoff:
    first: float = 1.0
    cap: float = 60.0
    stable_after: float = 60.0  # a child that ran this long starts again after `first`

    def delay(self, failures: int) -> float:
        return float(min(self.cap, self.first * 2 ** max(0, failures - 1)))


@dataclass
class Child:
    name: str
    command: list[str]
    log: Path | None  # None: inherit the terminal
    popen: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    failures: int = 0  # consecutive exits soon after a start
    restarts: int = 0
    due: float | None = None  # when to start it again
    _out: IO[bytes] | None = field(default=None, repr=False)

    def start(self, env: dict[str, str]) -> None:
        if self._out is None and self.log is not None:
            self._out = self.log.open("ab")
        self.popen = subprocess.Popen(self.command, env=env, start_new_session=True,
                                      stdout=self._out,
                                      stderr=subprocess.STDOUT if self._out else None)
        self.started, self.due = time.monotonic(), None

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


class Group:
    def __init__(self, commands: dict[str, list[str]], env: dict[str, str],
                 logs: Path | None, say: Callable[[str], None],
                 backoff: Backoff = Backoff()) -> None:
        self.env, self.say, self.backoff = env, say, backoff
        self.children = {name: Child(name, cmd, logs / f"{name}.log" if logs else None)
                         for name, cmd in commands.items()}

    def start(self) -> None:
        for child in self.children.values():
            child.start(self.env)

    def check(self) -> None:
        """Notice exits and start again the children whose backoff has passed."""
        now = time.monotonic()
        for child in self.children.values():
            if child.due is None and not child.running():
                self._exited(child, now)
            if child.due is not None and now >= child.due:
                child.restarts += 1
                child.start(self.env)

    def _exited(self, child: Child, now: float) -> None:
        code = child.popen.returncode if child.popen is not None else None
        if child.popen is not None:  # what is left of its group (a dead worker's pool)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.popen.pid, signal.SIGKILL)
        ran = now - child.started
        child.failures = 1 if ran >= self.backoff.stable_after else child.failures + 1
        delay = self.backoff.delay(child.failures)
        child.due = now + delay
        where = f"; see {child.log}" if child.log else ""
        self.say(f"{child.name} exited with {code} after {ran:.0f}s; starting it again in "
                 f"{delay:g}s{where}")

    def stop(self, grace: float = 20.0) -> None:
        running = [c for c in self.children.values() if c.running()]
        for child in running:
            assert child.popen is not None
            os.killpg(child.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in running:
            assert child.popen is not None
            try:
                child.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.popen.pid, signal.SIGKILL)
                child.popen.wait(5)
        for child in self.children.values():
            child.close()
