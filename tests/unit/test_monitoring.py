"""The monitoring stack as shipped: Grafana provisioned with Prometheus and the dashboard,
Prometheus scraping the exporter compose runs, and the processes that count sharing one
multiprocess directory with it. (That every series the dashboard queries is exported is
checked on real services: tests/integration/test_metrics_http.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
DASHBOARD = MONITORING / "grafana" / "dashboards" / "signalfleet.json"
SERIES = re.compile(r"\b(signalfleet_[a-z0-9_]+)\b")


def dashboard_series() -> set[str]:
    board = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in board["panels"] for t in panel["targets"]]
    assert len(exprs) >= 14
    return {name for expr in exprs for name in SERIES.findall(expr)}


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard() -> None:
    source = yaml.safe_load((MONITORING / "grafana/provisioning/datasources/prometheus.yml")
                            .read_text())["datasources"][0]
    board = json.loads(DASHBOARD.read_text())
    assert source["url"] == "http://prometheus:9090"
    assert {t["datasource"]["uid"] for p in board["panels"] for t in p["targets"]} == {
        source["uid"]}
    provider = yaml.safe_load((MONITORING / "grafana/provisioning/dashboards/signalfleet.yml")
                              .read_text())["providers"][0]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


def test_compose_wires_the_exporter_prometheus_and_grafana() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    scrape = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    [target] = scrape["scrape_configs"][0]["static_configs"][0]["targets"]
    assert target == "metrics:9108" and "9108" in services["metrics"]["command"]
    assert "ports" not in services["metrics"]  # never published
    for name in ("prometheus", "grafana"):
        assert all(str(p).startswith("127.0.0.1:") for p in services[name]["ports"]), name
    shared = compose["x-app"]
    assert shared["environment"]["PROMETHEUS_MULTIPROC_DIR"] == "/app/var/metrics"
    assert "metrics:/app/var/metrics" in shared["volumes"]
    for name in ("worker", "ingest", "http-ingest", "metrics"):  # they share the anchor's
        assert "volumes" not in {k for k in services[name] if k != "<<"} or \
            "metrics:/app/var/metrics" in services[name]["volumes"], name
