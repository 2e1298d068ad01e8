"""``fleet metrics``: the Prometheus exporter of a host — every signalfleet process's events
(from ``PROMETHEUS_MULTIPROC_DIR``) and the fleet's state, at ``/metrics``. No auth: bind it
to 127.0.0.1 (the default) or a private network only (compose keeps it unpublished)."""

from __future__ import annotations

import signal
import threading

import typer

from workers.cli.common import container, err_console, fail, process_logs
from workers.cli.failures import UNAVAILABLE


def metrics(host: str = typer.Option("127.0.0.1", "--host"),
            port: int = typer.Option(9108, "--port")) -> None:
    """Serve /metrics for Prometheus (the events of every process and the fleet's state)."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server  # not for --help

    from prometheus_client import make_wsgi_app

    from workers import metrics as fleet_metrics
    from workers.metrics_state import FleetState

    rt = container()
    if fleet_metrics.multiproc_dir() is None:
        err_console.print("note: PROMETHEUS_MULTIPROC_DIR is not set: only the fleet's state "
                          "is exported (set it to the directory the workers write to)")
    class _Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return  # one line per scrape would drown the logs

    app = make_wsgi_app(fleet_metrics.registry(FleetState(rt)))
    try:
        server = make_server(host, port, app, handler_class=_Quiet)
    except OSError as exc:
        raise fail(f"port: cannot listen on {host}:{port} ({exc.strerror}); choose another "
                   "with --port", UNAVAILABLE) from None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    err_console.print(f"metrics on http://{host}:{port}/metrics")
    process_logs(rt)
    stop.wait()
    server.shutdown()
