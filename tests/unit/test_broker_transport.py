"""The Celery app's broker URL loads signalfleet's transport (workers/broker.py), for a TCP
and for a unix-socket Redis alike, and nothing else changes in the URL."""

from __future__ import annotations

import pytest
from kombu import Connection

from workers.broker import Transport, fleet_broker_url


@pytest.mark.parametrize(("url", "expected"), [
    ("redis://127.0.0.1:6379/3", "sfredis://127.0.0.1:6379/3"),
    ("rediss://:pw@host:6380/0", "sfrediss://:pw@host:6380/0"),
    ("redis+socket:///tmp/r.sock?virtual_host=2", "sfredis+socket:///tmp/r.sock?virtual_host=2"),
    ("amqp://guest@localhost//", "amqp://guest@localhost//"),
])
def test_the_url_names_the_fleet_transport(url: str, expected: str) -> None:
    assert fleet_broker_url(url) == expected


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/3",
                                 "redis+socket:///tmp/r.sock?virtual_host=2"])
def test_kombu_loads_it_without_connecting(url: str) -> None:
    conn = Connection(fleet_broker_url(url))
    assert conn.transport_cls in ("sfredis", "sfrediss")
    assert isinstance(conn.transport, Transport)
    conn.release()


def test_the_celery_app_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from workers import celery_app
    from workers.settings import Settings

    monkeypatch.setenv("SIGNALFLEET_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/db")
    monkeypatch.setenv("SIGNALFLEET_REDIS_URL", "redis://127.0.0.1:6379/5")
    monkeypatch.setattr(celery_app, "get_settings", lambda: Settings(_env_file=None))
    config = celery_app.celery_config()
    assert config["broker_url"] == "sfredis://127.0.0.1:6379/5"
    # the lease, not the timeout, covers long tasks: the limits are the settings' own
    assert config["broker_transport_options"]["visibility_timeout"] == 30
    assert (config["task_soft_time_limit"], config["task_time_limit"]) == (60, 90)
    assert config["broker_connection_max_retries"] is None
