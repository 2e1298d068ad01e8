"""``GET /metrics`` on the HTTP app, on real PostgreSQL and Redis: the ``metrics`` scope
(Bearer or X-API-Key), the fleet's state read at scrape time, HTTP refusals counted, and every
series the provisioned Grafana dashboard queries is one that is exported."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from domain.ports import PriceQuote
from persistence.cache import Cache
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.integration.http_support import VALID, FixedClock, post
from tests.integration.ledger_support import BONK, WIF, funded_agent, open_position
from tests.services import TestServers
from tests.unit.test_monitoring import dashboard_series
from workers import metrics
from workers.handlers.operators.keys import create_key
from workers.metrics_state import FleetState

SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count",
                                                             "_created"), "gauge": ("",)}


@pytest.fixture
def keys(uow_factory: Callable[[], SqlAlchemyUnitOfWork]) -> dict[str, str]:
    def make(*scopes: str) -> str:
        return create_key(uow_factory(), FixedClock(), user_email="ops@example.com",
                          scopes=list(scopes)).key
    return {"metrics": make("metrics"), "read": make("read"), "signals": make("signals")}


def scrape(client: TestClient, **headers: str) -> dict[str, list[Any]]:
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(answer.text)}


def sample(families: dict[str, list[Any]], name: str, **labels: str) -> float | None:
    for family in families.values():
        for s in family:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


def test_metrics_need_the_metrics_scope(make_client: Callable[..., Any],
                                        keys: dict[str, str]) -> None:
    client, _ = make_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"X-API-Key": keys["read"]}).status_code == 403
    assert client.get("/metrics", headers={
        "Authorization": f"Bearer {keys['read']}"}).status_code == 403
    scrape(client, Authorization=f"Bearer {keys['metrics']}")  # as Prometheus sends it
    scrape(client, **{"X-API-Key": keys["metrics"]})
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def test_the_state_is_read_at_scrape_time(make_client: Callable[..., Any],
                                          keys: dict[str, str],
                                          uow_factory: Callable[[], SqlAlchemyUnitOfWork],
                                          redis_client: Any, servers: TestServers) -> None:
    # The queues on a broker database no worker of this session serves (the e2e workers
    # may still run and would take a message pushed onto theirs).
    broker = redis.Redis.from_url(servers.redis.url_for(8), decode_responses=True)
    broker.delete("sweeps")
    client, _ = make_client(broker_url=servers.redis.url_for(8))
    before = scrape(client, **{"X-API-Key": keys["metrics"]})
    assert sample(before, "signalfleet_state_up") == 1
    assert sample(before, "signalfleet_open_positions", mode="simulation") == 0

    uow = uow_factory()
    agent, wallet = funded_agent(uow, "alpha", "10")
    open_position(uow, agent, wallet, BONK, "BONK", "1", "1000")
    open_position(uow, agent, wallet, WIF, "WIF", "2", "10")
    Cache(redis_client).write_prices([PriceQuote(BONK, D("0.0015"), datetime.now(UTC),
                                                 "jupiter")])
    broker.rpush("sweeps", "x", "y")
    after = scrape(client, **{"X-API-Key": keys["metrics"]})
    assert sample(after, "signalfleet_open_positions", mode="simulation") == 2
    assert sample(after, "signalfleet_exposure_sol", mode="simulation", basis="cost") == 3
    assert sample(after, "signalfleet_exposure_sol", mode="simulation",
                  basis="market") == 1.5  # BONK only: WIF has no price
    assert sample(after, "signalfleet_held_tokens_unpriced") == 1
    age = sample(after, "signalfleet_price_age_seconds", feed="jupiter")
    assert age is not None and 0 <= age < 30
    assert sample(after, "signalfleet_queue_depth", queue="sweeps") == 2
    assert sample(after, "signalfleet_live_swaps", state="submitted") == 0
    assert sample(after, "signalfleet_reconciler_backlog") == 0


def test_http_refusals_are_counted_by_field(make_client: Callable[..., Any],
                                            keys: dict[str, str]) -> None:
    client, _ = make_client()
    name = "signalfleet_signals_rejected_total"
    before = sample(scrape(client, **{"X-API-Key": keys["metrics"]}), name, channel="http",
                    reason="signal_strength") or 0
    assert post(client, {**VALID, "signal_strength": 0}, keys["signals"]).status_code == 400
    after = sample(scrape(client, **{"X-API-Key": keys["metrics"]}), name, channel="http",
                   reason="signal_strength")
    assert after == before + 1


def test_every_series_the_dashboard_queries_is_exported(make_client: Callable[..., Any]) -> None:
    _, rt = make_client()
    registry: CollectorRegistry = metrics.registry(FleetState(rt))
    exported = {family.name + suffix for family in registry.collect()
                for suffix in SUFFIXES.get(family.type, ("",))}
    queried = dashboard_series()
    assert not queried - exported, sorted(queried - exported)
    assert "signalfleet_made_up_total" not in exported  # the check can fail
    for wanted in ("signalfleet_signals_ingested_total", "signalfleet_signals_rejected_total",
                   "signalfleet_executions_total", "signalfleet_signal_latency_seconds_bucket",
                   "signalfleet_open_positions", "signalfleet_exposure_sol",
                   "signalfleet_sweep_duration_seconds_bucket", "signalfleet_price_age_seconds",
                   "signalfleet_queue_depth", "signalfleet_live_swaps",
                   "signalfleet_reconciler_backlog"):
        assert wanted in queried, wanted  # every series the issue lists has a panel
