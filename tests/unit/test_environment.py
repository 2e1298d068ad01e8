"""A listing finds its database without pydantic-settings (workers/environment.py): the
answer must be the one ``Settings`` gives for the same environment and ``.env`` file, and a
password ``get_settings`` refuses is refused the same way. The embedded server is found
running through its ``postmaster.pid`` (workers/embedded.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.embedded import STOPPED_MARKER, running_database_url
from workers.environment import WeakPassword, database_location
from workers.settings import Settings, get_settings

NAMES = ("SIGNALFLEET_DATABASE_URL", "SIGNALFLEET_VAR_DIR")
URLS = st.sampled_from([
    "", "postgresql+psycopg://postgres@127.0.0.1:5432/sf",
    "postgresql+psycopg://sf:k9V2xq7LmP4rT8wZ3nB6@db.internal/sf",
    "postgresql+psycopg://sf:short@127.0.0.1/sf",  # short, but on this machine: allowed
    "postgresql+psycopg://postgres@/signalfleet?host=/tmp/x y",
])
DIRS = st.sampled_from(["", "var", "/tmp/fleet var", "./a/../b"])
CASES = st.sampled_from([str.upper, str.lower, str.title])
QUOTES = st.sampled_from(["", "'", '"'])


@contextmanager
def environment(env: dict[str, str], dotenv: str | None) -> Iterator[None]:
    """Exactly ``env``'s SIGNALFLEET_ variables, and ``dotenv`` as ``.env`` in the cwd."""
    saved = dict(os.environ)
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as directory:
        try:
            for name in [n for n in os.environ if n.upper().startswith("SIGNALFLEET_")]:
                del os.environ[name]
            os.environ.update(env)
            os.chdir(directory)
            if dotenv is not None:
                Path(".env").write_text(dotenv)
            yield
        finally:
            os.chdir(cwd)
            os.environ.clear()
            os.environ.update(saved)


def from_settings() -> tuple[str | None, Path]:
    s = Settings()
    return (s.database_url.get_secret_value() if s.database_url else None), s.var_dir


@settings(max_examples=300, deadline=None)
@given(env=st.dictionaries(st.sampled_from(NAMES), URLS | DIRS, max_size=2),
       dotenv=st.none() | st.lists(st.tuples(st.sampled_from(NAMES), URLS | DIRS, QUOTES),
                                   max_size=3),
       case=CASES)
def test_the_listing_finds_the_database_settings_finds(env: dict[str, str],
                                                       dotenv: list[tuple[str, str, str]] | None,
                                                       case: object) -> None:
    env = {case(name): value for name, value in env.items()}  # type: ignore[operator]
    text = None if dotenv is None else "".join(
        f"{case(name)}={quote}{value}{quote}\n" for name, value, quote in dotenv)  # type: ignore[operator]
    with environment(env, text):
        assert database_location() == from_settings()


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://sf:change-me@127.0.0.1/sf",  # an example, even on this machine
    "postgresql+psycopg://sf:short@db.internal/sf",  # short, on another host
])
def test_a_password_settings_refuses_is_refused_in_the_same_words(url: str) -> None:
    with environment({"SIGNALFLEET_DATABASE_URL": url}, None):
        get_settings.cache_clear()
        with pytest.raises(SystemExit) as refused:
            get_settings()
        get_settings.cache_clear()
        with pytest.raises(WeakPassword) as weak:
            database_location()
    assert f"error: {weak.value}" == str(refused.value.code)
    assert "short" not in str(weak.value) or "shorter than 16" in str(weak.value)


# --- the embedded server, found running by its pid file ----------------------------------

def postmaster(var: Path, *, pid: int, status: str = "ready", socket: bool = True) -> Path:
    """A ``postmaster.pid`` as PostgreSQL writes it, and its socket when ``socket``."""
    sockets = var / "sockets"
    sockets.mkdir(parents=True, exist_ok=True)
    if socket:
        (sockets / ".s.PGSQL.5432").touch()
    (var / "pgdata").mkdir(parents=True, exist_ok=True)
    (var / "pgdata" / "postmaster.pid").write_text(
        f"{pid}\n{var / 'pgdata'}\n1796313398\n5432\n{sockets}\n\n  2187298         9\n"
        f"{status:<8}\n")
    return sockets


def test_a_running_server_is_found_by_its_pid_file(tmp_path: Path) -> None:
    sockets = postmaster(tmp_path, pid=os.getpid())
    assert running_database_url(tmp_path) == (
        f"postgresql+psycopg://postgres@/signalfleet?host={sockets}")


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("why", ["no file", "torn", "starting", "no socket", "dead", "stopped"])
def test_a_server_not_running_and_ready_is_not_found(tmp_path: Path, why: str) -> None:
    if why != "no file":
        postmaster(tmp_path, pid=dead_pid() if why == "dead" else os.getpid(),
                   status="starting" if why == "starting" else "ready",
                   socket=why != "no socket")
    if why == "torn":
        pid_file = tmp_path / "pgdata" / "postmaster.pid"
        pid_file.write_text(pid_file.read_text()[:20])
    if why == "stopped":
        (tmp_path / STOPPED_MARKER).touch()
    assert running_database_url(tmp_path) is None
