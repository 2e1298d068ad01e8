"""`fleet run`'s header names the dashboard's URL on SIGNALFLEET_HTTP_PORT (which the
`fleet http-ingest` it starts reads too), or says the port is busy and how to choose another."""

from __future__ import annotations

import socket

from workers.cli.processes import _dashboard_line
from workers.settings import Settings


def test_the_header_names_the_dashboards_url_or_its_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = _dashboard_line(Settings(_env_file=None, http_port=port))  # type: ignore[call-arg]
        assert line == (f"dashboard not started: port {port} is in use (set "
                        "SIGNALFLEET_HTTP_PORT to a free one)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    line = _dashboard_line(Settings(_env_file=None, http_port=free))  # type: ignore[call-arg]
    assert line == f"dashboard http://127.0.0.1:{free}/dashboard"
