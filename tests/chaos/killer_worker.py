"""``python -m tests.chaos.killer_worker worker ...``: the real ``fleet worker`` with one
test hook — right after the first task named in ``CHAOS_KILL_AFTER`` returns (its database
transaction committed, its message not yet acknowledged: with ``acks_late`` the pool's parent
acknowledges only when the child reports back), the pool child SIGKILLs itself
(``CHAOS_KILL=child``) or the whole worker (``CHAOS_KILL=main``). ``CHAOS_KILL_MARKER`` is a
file written at that moment so the kill happens once per marker."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from celery.signals import task_success


@task_success.connect
def _kill_after_commit(sender: Any = None, **_: Any) -> None:
    marker = Path(os.environ["CHAOS_KILL_MARKER"])
    if sender is None or sender.name not in os.environ["CHAOS_KILL_AFTER"].split(","):
        return
    try:
        with marker.open("x") as handle:  # exclusive: only the first task anywhere
            handle.write(f"{sender.name} {sender.request.id}\n")
    except FileExistsError:
        return
    if os.environ["CHAOS_KILL"] == "main":
        os.kill(os.getppid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    from workers.cli import main

    main()
