"""Metrics on a running fleet: real worker (prefork pool) and ingestor processes count into
the shared multiprocess directory; a scrape (as ``fleet metrics`` and ``GET /metrics`` build
it) shows the series move as signals flow, and the fleet's state read from the database."""

from __future__ import annotations

import json
from typing import Any

import redis
from celery import Celery
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from tests.e2e.conftest import wait_for
from tests.e2e.test_pipeline import FIXED_SIZE, MINT, agent, push, set_price, signal_done
from workers import metrics
from workers.bootstrap import Container, ServiceUrls
from workers.ingest.stream import SIGNALS_STREAM
from workers.metrics_state import FleetState
from workers.settings import Settings


class Scraper:
    def __init__(self, env: dict[str, str]) -> None:
        urls = ServiceUrls(env["SIGNALFLEET_DATABASE_URL"], env["SIGNALFLEET_REDIS_URL"],
                           env["SIGNALFLEET_REDIS_URL"], False)
        self.runtime = Container(Settings(_env_file=None), urls)  # type: ignore[call-arg]
        self.path = env["PROMETHEUS_MULTIPROC_DIR"]

    def __call__(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        import os

        saved = os.environ.get(metrics.MULTIPROC_ENV)
        os.environ[metrics.MULTIPROC_ENV] = self.path  # read the fleet's directory
        try:
            text = generate_latest(metrics.registry(FleetState(self.runtime))).decode()
        finally:
            if saved is None:
                del os.environ[metrics.MULTIPROC_ENV]
            else:
                os.environ[metrics.MULTIPROC_ENV] = saved
        return {(s.name, tuple(sorted(s.labels.items()))): float(s.value)
                for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return sum(v for (n, found), v in samples.items()
               if n == name and all((k, lv) in found for k, lv in labels.items()))


def test_the_series_move_as_signals_flow(pipeline: Engine, e2e_redis: redis.Redis,
                                         stack_env: dict[str, str], sender: Celery) -> None:
    scrape = Scraper(stack_env)
    before = scrape()
    agent(pipeline, "measured", "10", FIXED_SIZE)
    set_price(e2e_redis, "0.001")
    push(e2e_redis, symbol="BONK")
    wait_for(lambda: signal_done(pipeline, 1), what="the buy")
    push(e2e_redis, symbol="BONK")  # the agent holds it now: SKIPPED position_exists
    e2e_redis.xadd(SIGNALS_STREAM, {"payload": json.dumps(
        {"token_address": MINT, "signal_type": "buy", "signal_strength": 0})})
    wait_for(lambda: signal_done(pipeline, 2), what="the second signal")
    sender.send_task("prices.refresh", queue="sweeps")
    sender.send_task("positions.sweep", queue="sweeps")

    def moved() -> Any:
        now = scrape()
        return now if value(now, "signalfleet_sweep_duration_seconds_count") > value(
            before, "signalfleet_sweep_duration_seconds_count") and value(
            now, "signalfleet_price_age_seconds", feed="static") > 0 and value(
            now, "signalfleet_signals_rejected_total", channel="stream") > value(
            before, "signalfleet_signals_rejected_total", channel="stream") else None

    after = wait_for(moved, 30, "the sweep, the price refresh and the rejection to be counted")

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("signalfleet_signals_ingested_total", channel="stream") == 2
    assert delta("signalfleet_signals_rejected_total", channel="stream",
                 reason="signal_strength") == 1
    assert delta("signalfleet_executions_total", status="EXECUTED", action="open") == 1
    assert delta("signalfleet_executions_total", status="SKIPPED",
                 reason="position_exists") == 1
    assert delta("signalfleet_signal_latency_seconds_count") == 2
    assert 0 < delta("signalfleet_signal_latency_seconds_sum") < 30
    assert value(after, "signalfleet_open_positions", mode="simulation") == 1
    assert value(after, "signalfleet_exposure_sol", mode="simulation", basis="cost") > 2
    assert value(after, "signalfleet_exposure_sol", mode="simulation", basis="market") == 2
    # one agent: the ingestor executed both signals itself (the low-latency path); the
    # sweep is a worker's task
    assert delta("signalfleet_task_duration_seconds_count", task="positions.sweep") >= 1
    assert value(after, "signalfleet_queue_depth", queue="signals") >= 0
    assert ("signalfleet_queue_depth", (("queue", "stream"),)) in after
    assert value(after, "signalfleet_state_up") == 1
    scrape.runtime.dispose()


def test_fleet_metrics_serves_the_sum_of_every_process(
        pipeline: Engine, e2e_redis: redis.Redis, stack_env: dict[str, str],
        tmp_path: Any) -> None:
    import socket

    import httpx

    from tests.e2e.conftest import start

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    agent(pipeline, "exported", "10", FIXED_SIZE)
    set_price(e2e_redis, "0.001")
    push(e2e_redis, symbol="BONK")
    wait_for(lambda: signal_done(pipeline, 1), what="the buy")
    url = f"http://127.0.0.1:{port}/metrics"

    def answers(_: Any) -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    exporter = start("metrics", ["metrics", "--port", str(port)], stack_env, tmp_path, answers)
    try:
        text = httpx.get(url, timeout=10).text
    finally:
        exporter.stop()
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    executed = [s.value for s in samples if s.name == "signalfleet_executions_total"
                and s.labels["status"] == "EXECUTED"]
    held = [s.value for s in samples if s.name == "signalfleet_open_positions"
            and s.labels["mode"] == "simulation"]
    assert sum(executed) >= 1  # counted by the worker's pool child
    assert held == [1]  # read by the exporter from the database
    assert "Traceback" not in exporter.output()
