"""The ``fleet`` CLI run in-process (typer's CliRunner) on the test database and Redis.

Import the ``cli`` fixture into a test module: ``from tests.integration.cli_support import
cli``. Process singletons (container, runtime, settings) are reset around each test, and the
process-wide logging set-up is replaced (log lines go to pytest's stderr, never into the
command's stdout)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from workers import bootstrap as runtime_module
from workers import logging as fleet_logging
from workers.cli import common as cli_common
from workers.settings import get_settings


@pytest.fixture
def cli(database_url: str, redis_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setattr(cli_common, "configure_logging", lambda *a, **k: None)
    monkeypatch.setattr(fleet_logging, "configure_logging", lambda *a, **k: None)
    saved = structlog.get_config()
    structlog.reset_defaults()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    for name in ("SIGNALFLEET_PRICE_FEED", "SIGNALFLEET_REPLAY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SIGNALFLEET_DATABASE_URL", database_url)
    monkeypatch.setenv("SIGNALFLEET_REDIS_URL", redis_url)
    monkeypatch.setenv("SIGNALFLEET_VAR_DIR", str(tmp_path))
    reset()
    yield CliRunner()
    reset()
    structlog.reset_defaults()
    structlog.configure(**saved)


def reset() -> None:
    for built in (cli_common._container, runtime_module._container):
        if built is not None:
            built.dispose()
    cli_common._container = None
    runtime_module.reset()
    get_settings.cache_clear()
