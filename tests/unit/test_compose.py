"""compose.yaml is valid for ``docker-compose config`` (Debian's docker-compose; no engine
needed) and keeps the deployment's safety settings; on the rendered config, with a
recognisable value in every secret of the env files, each secret reaches only the services
that use it."""

from __future__ import annotations

import os
import re
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


ENV_FILES = (".env", ".env.app", ".env.workers", ".env.flower", ".env.live")
# What an operator puts in the files: one recognisable value per secret, so the rendered
# config shows where each one went.
SECRETS = {
    ".env": {"POSTGRES_PASSWORD": "pg-Sentinel-7f3a9c1e2b",
             "GRAFANA_ADMIN_PASSWORD": "gf-Sentinel-4d8e2a6b0c"},
    ".env.workers": {"SIGNALFLEET_JUPITER_API_KEY": "jup-Sentinel-9b1c3e5f7a"},
    ".env.flower": {"SIGNALFLEET_FLOWER_PASSWORD": "fl-Sentinel-2e4a6c8d0f"},
    ".env.live": {"WALLET_1": "wallet-Sentinel-5c7e9a1b3d", "WALLET_2": "[1, 2, 3]"},
}


def _env_text(name: str) -> str:
    """The example file as the operator fills it: the sentinels set (uncommented)."""
    lines = (ROOT / f"{name}.example").read_text().splitlines()
    wanted = SECRETS.get(name, {})
    kept = [line for line in lines
            if line.lstrip("# ").split("=", 1)[0] not in wanted or "=" not in line]
    return "\n".join([*kept, *(f"{k}={v}" for k, v in wanted.items())]) + "\n"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = tmp_path_factory.mktemp("compose")
    for name in ENV_FILES:  # what an operator does first: copy each example, fill it
        (project / name).write_text(_env_text(name))
    if COMPOSE is None:  # CI installs it (.ci/run); there its absence is a failure
        assert not os.environ.get("CI"), "docker-compose is missing: .ci/run installs it"
        # Without the binary the same checks run on the file as YAML reads it (anchors and
        # merge keys resolved, env files merged as compose does, ${...} filled).
        return _rendered_without_compose(project)
    shutil.copy(ROOT / "compose.yaml", project / "compose.yaml")
    shutil.copy(ROOT / "Dockerfile", project / "Dockerfile")
    result = subprocess.run([COMPOSE, "-f", "compose.yaml", "--profile", "live", "config"],
                            cwd=project, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = yaml.safe_load(result.stdout)
    return loaded


def _read_env(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines
                if "=" in line and not line.lstrip().startswith("#"))


def _rendered_without_compose(project: Path) -> dict[str, Any]:
    """What ``docker-compose config`` renders: each service's env files joined (the later
    file and ``environment`` win), ``${VAR}`` / ``${VAR:-default}`` filled from .env."""
    variables = _read_env(project / ".env")

    def fill(text: str) -> str:
        return re.sub(r"\$\{(\w+)(?::[-?][^}]*)?\}",
                      lambda m: variables.get(m.group(1), ""), text)

    raw: dict[str, Any] = yaml.safe_load(fill((ROOT / "compose.yaml").read_text()))
    for service in raw["services"].values():
        files = service.pop("env_file", None) or []
        env: dict[str, str] = {}
        for name in [files] if isinstance(files, str) else files:
            env.update(_read_env(project / name))
        service["environment"] = {**env, **(service.get("environment") or {})}
    return raw


def test_every_service_is_there(config: dict[str, Any]) -> None:
    assert set(config["services"]) == SERVICES
    assert {"postgres-data", "redis-data", "beat-data"} <= set(config["volumes"])


def test_redis_keeps_every_message(config: dict[str, Any]) -> None:
    command = config["services"]["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"


def test_redis_memory_is_capped_on_purpose(config: dict[str, Any]) -> None:
    """A cap the processes ride out (they wait at it) rather than the host's OOM killer."""
    command = config["services"]["redis"]["command"]
    assert command[command.index("--maxmemory") + 1] == "512mb"


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


def _where(config: dict[str, Any], value: str) -> set[str]:
    """The services whose rendered config holds ``value`` anywhere."""
    return {name for name, service in config["services"].items()
            if value in yaml.safe_dump(service)}


def test_the_wallet_keys_reach_only_the_live_worker(config: dict[str, Any]) -> None:
    """Keys live only where live work runs (docs/rules.md §12): .env.live is read by
    worker-live alone, which serves the live queue; no other file carries a key."""
    for value in SECRETS[".env.live"].values():
        assert _where(config, value) == {"worker-live"}, value
    live = config["services"]["worker-live"]
    assert live["command"] == ["worker", "--live"] and "live" in live["profiles"]
    assert "--live" not in config["services"]["worker"]["command"]
    for name in ENV_FILES[:-1]:
        assert not any(line.startswith("WALLET_")
                       for line in (ROOT / f"{name}.example").read_text().splitlines()), name


def test_the_flower_password_reaches_only_flower(config: dict[str, Any]) -> None:
    assert _where(config, SECRETS[".env.flower"]["SIGNALFLEET_FLOWER_PASSWORD"]) == {"flower"}


def test_the_jupiter_key_reaches_only_the_trading_workers(config: dict[str, Any]) -> None:
    key = SECRETS[".env.workers"]["SIGNALFLEET_JUPITER_API_KEY"]
    assert _where(config, key) == {"worker", "worker-live"}


def test_the_database_password_only_inside_each_services_own_url(
        config: dict[str, Any]) -> None:
    """postgres takes it to create the user; every signalfleet service only inside its
    SIGNALFLEET_DATABASE_URL (HTTP ingest, facing the internet, included); nothing else
    (Grafana, Prometheus) sees it, and no service gets the whole .env."""
    password = SECRETS[".env"]["POSTGRES_PASSWORD"]
    services = config["services"]
    for name, service in services.items():
        env = service.get("environment") or {}
        holders = {k for k, v in env.items() if password in str(v)}
        if name == "postgres":
            assert holders == {"POSTGRES_PASSWORD"}
        elif name in ("redis", "prometheus", "grafana"):
            assert holders == set() and password not in yaml.safe_dump(service), name
        else:
            assert holders == {"SIGNALFLEET_DATABASE_URL"}, (name, holders)
            assert "POSTGRES_PASSWORD" not in env, name
    grafana = SECRETS[".env"]["GRAFANA_ADMIN_PASSWORD"]
    assert _where(config, grafana) == {"grafana"}


def test_the_example_files_hold_no_real_secret_and_are_refused_as_they_are() -> None:
    """An operator who copies the examples unchanged is stopped: their passwords are the
    examples every process refuses (workers/settings.py)."""
    from workers.settings import Settings, weak_secrets

    env = _read_env(ROOT / ".env.example")
    flower = _read_env(ROOT / ".env.flower.example")
    url = (f"postgresql+psycopg://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}"
           f"@postgres:5432/{env['POSTGRES_DB']}")
    found = weak_secrets(Settings(_env_file=None, database_url=url,  # type: ignore[call-arg]
                                  flower_password=flower["SIGNALFLEET_FLOWER_PASSWORD"]))
    assert len(found) == 2 and all("example password" in line for line in found)
