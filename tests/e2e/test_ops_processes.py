"""Real processes: ``fleet doctor`` sees the running worker and beat; ``fleet flower`` serves
only with basic auth; ``fleet run`` into a pipe logs plainly and skips a busy Flower port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from tests.e2e.conftest import ROOT, Proc, start, wait_for
from tests.e2e.test_demo import demo_stack  # noqa: F401  (fixture)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_doctor_sees_the_worker_and_beat(stack_env: dict[str, str], worker: Proc,
                                         tmp_path: Path) -> None:
    beat = start("beat", ["beat"], stack_env, tmp_path, lambda p: "beat: Starting" in p.output())
    try:
        def doctor() -> dict[str, dict[str, str]]:
            out = subprocess.run([sys.executable, "-m", "workers.cli", "doctor", "--json"],
                                 env=stack_env, cwd=ROOT, capture_output=True, text=True,
                                 timeout=60)
            return {c["name"]: c for c in json.loads(out.stdout)}

        checks = wait_for(lambda: (c := doctor())["beat"]["status"] == "OK" and c, 30,
                          "beat's heartbeat")
    finally:
        beat.stop()
    for name in ("database", "redis", "broker", "workers", "beat"):
        assert checks[name]["status"] == "OK", checks[name]


FLOWER_PASSWORD = "e2e-Flower-9xQ2vL7k"


def test_fleet_flower_refuses_a_weak_password(stack_env: dict[str, str]) -> None:
    env = {**stack_env, "SIGNALFLEET_FLOWER_USER": "ops", "SIGNALFLEET_FLOWER_PASSWORD": "pw-1"}
    refused = subprocess.run([sys.executable, "-m", "workers.cli", "flower"], env=env,
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == [
        "error: SIGNALFLEET_FLOWER_PASSWORD is shorter than 16 characters: set a random one "
        "of at least 16 characters (e.g. `openssl rand -base64 24`)"]


@pytest.mark.parametrize("auth", [True, False])
def test_flower_requires_basic_auth(stack_env: dict[str, str], tmp_path: Path,
                                    auth: bool) -> None:
    port = _free_port()
    env = {**stack_env, "SIGNALFLEET_FLOWER_USER": "ops",
           "SIGNALFLEET_FLOWER_PASSWORD": FLOWER_PASSWORD}
    if not auth:
        env = {k: v for k, v in env.items() if not k.startswith("SIGNALFLEET_FLOWER_")}
        refused = subprocess.run([sys.executable, "-m", "workers.cli", "flower"], env=env,
                                 cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and "SIGNALFLEET_FLOWER_PASSWORD" in refused.stderr
        return
    flower = start("flower", ["flower", "--port", str(port)], env, tmp_path,
                   lambda p: "Visit me at" in p.output())
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for(lambda: _status(url, None) is not None, 30, "flower to listen")
        assert _status(url, None) == 401
        assert _status(url, ("ops", FLOWER_PASSWORD)) == 200
        for path in ("metrics", "healthcheck"):  # behind the same auth
            assert _status(url + path, None) == 401
            assert _status(url + path, ("ops", "wrong-password-0000")) == 401
            assert _status(url + path, ("ops", FLOWER_PASSWORD)) == 200
        assert f"Flower: http://127.0.0.1:{port}/" in flower.output()
    finally:
        flower.stop()


def _status(url: str, auth: tuple[str, str] | None) -> int | None:
    try:
        return httpx.get(url, auth=auth, timeout=2).status_code
    except httpx.TransportError:
        return None


def test_run_into_a_pipe_logs_plainly_and_skips_a_busy_flower_port(
        demo_stack: tuple[Engine, dict[str, str]]) -> None:  # noqa: F811
    """`fleet run` with stdout not a terminal: the processes' plain logs instead of the live
    view; Flower's port busy: the header says so and advertises no URL; the rest runs."""
    _, env = demo_stack
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        log = Path(env["SIGNALFLEET_VAR_DIR"]) / "run.log"
        proc = subprocess.Popen([sys.executable, "-m", "workers.cli", "run", "--no-demo"],
                                env={**env, "SIGNALFLEET_FLOWER_PORT": str(port)}, cwd=ROOT,
                                stdout=log.open("w"), stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            wait_for(lambda: "ready." in log.read_text(), 90, "the worker's plain log")
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            assert proc.wait(60) == 0
    output = log.read_text()
    assert f"Flower not started: port {port} is in use (set SIGNALFLEET_FLOWER_PORT" in output
    assert "Flower http" not in output and "Traceback" not in output
    assert "open positions" not in output  # no live view in a file
    assert output.rstrip().endswith("signalfleet stopped")
