"""compose.yaml is valid for ``docker-compose config`` (Debian's docker-compose; no engine
needed) and keeps the deployment's safety settings. Skipped where the binary is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose")
SERVICES = {"postgres", "redis", "migrate", "worker", "worker-live", "beat", "ingest",
            "http-ingest", "flower", "metrics", "prometheus", "grafana"}


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if COMPOSE is None:  # CI installs it (.ci/run); there its absence is a failure
        assert not os.environ.get("CI"), "docker-compose is missing: .ci/run installs it"
        # Without the binary the same checks run on the file as YAML reads it (anchors and
        # merge keys resolved; ${...} left as written), so nothing is skipped.
        raw: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
        return _with_env_file(raw)
    project = tmp_path_factory.mktemp("compose")
    for name in ("compose.yaml", "Dockerfile", ".env.example", ".env.live.example"):
        shutil.copy(ROOT / name, project / name)
    shutil.copy(ROOT / ".env.example", project / ".env")  # what an operator does first
    shutil.copy(ROOT / ".env.live.example", project / ".env.live")
    result = subprocess.run([COMPOSE, "-f", "compose.yaml", "--profile", "live", "config"],
                            cwd=project,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = yaml.safe_load(result.stdout)
    return loaded


def _with_env_file(raw: dict[str, Any]) -> dict[str, Any]:
    """What compose does with ``env_file: .env`` (an operator's copy of .env.example): its
    variables join each service's environment, which wins on conflicts."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    env = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    for service in raw["services"].values():
        if service.get("env_file"):
            service["environment"] = {**env, **service.get("environment", {})}
    return raw


def test_every_service_is_there(config: dict[str, Any]) -> None:
    assert set(config["services"]) == SERVICES
    assert {"postgres-data", "redis-data", "beat-data"} <= set(config["volumes"])


def test_redis_keeps_every_message(config: dict[str, Any]) -> None:
    command = config["services"]["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"


def test_processes_wait_for_the_migration_and_have_health_checks(
        config: dict[str, Any]) -> None:
    services = config["services"]
    assert services["postgres"]["image"] == "postgres:16"
    assert services["migrate"]["command"] == ["db", "upgrade"]
    for name in ("worker", "beat", "ingest", "http-ingest", "flower"):
        service = services[name]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["healthcheck"]["test"], name
        url = service["environment"]["SIGNALFLEET_DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://") and "@postgres:5432/" in url


def _host_ip(port: str | dict[str, Any]) -> str | None:
    return port.split(":")[0] if isinstance(port, str) else port.get("host_ip")


def test_flower_is_local_only_with_basic_auth_from_the_env(config: dict[str, Any]) -> None:
    services = config["services"]
    flower = services["flower"]
    assert {_host_ip(p) for p in flower["ports"]} == {"127.0.0.1"}
    assert "--basic-auth" not in " ".join(flower["command"])  # from the env, not argv
    assert flower["environment"]["SIGNALFLEET_FLOWER_USER"]
    assert flower["environment"]["SIGNALFLEET_FLOWER_PASSWORD"]
    assert "ports" not in services["postgres"] and "ports" not in services["redis"]


def test_only_the_live_worker_gets_the_wallet_keys(config: dict[str, Any]) -> None:
    """Keys live only where live work runs (docs/rules.md §12): .env.live (WALLET_n) is read
    by worker-live alone, which serves the live queue; .env carries no key."""
    for name, service in config["services"].items():
        files = service.get("env_file") or []
        files = [files] if isinstance(files, str) else files
        paths = [f if isinstance(f, str) else f.get("path", "") for f in files]
        assert any(p.endswith(".env.live") for p in paths) == (name == "worker-live"), name
        assert not any(k.startswith("WALLET_") for k in service.get("environment") or {}), name
    live = config["services"]["worker-live"]
    assert live["command"] == ["worker", "--live"] and "live" in live["profiles"]
    assert "--live" not in config["services"]["worker"]["command"]
    assert not any(line.startswith("WALLET_")
                   for line in (ROOT / ".env.example").read_text().splitlines())
