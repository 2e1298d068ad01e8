"""``GET /metrics`` on the HTTP app: Prometheus' text format, for a key with the ``metrics``
scope (``admin`` holds it too). Prometheus sends the key as ``Authorization: Bearer <key>``
(its ``authorization.credentials_file``); ``X-API-Key`` works as well.

The answer sums every process writing to ``PROMETHEUS_MULTIPROC_DIR`` (worker pool children,
ingestor, HTTP processes) and adds the fleet's state read at scrape time.
"""

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from workers import metrics
from workers.http.auth import Gate
from workers.metrics_state import FleetState


def _presented(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


def metrics_router() -> APIRouter:
    router = APIRouter()
    metrics.set_role("http")

    @router.get("/metrics", include_in_schema=False)
    async def scrape(request: Request) -> Response:
        gate: Gate = request.app.state.gate
        await run_in_threadpool(gate.authorize, _presented(request), "metrics")
        registry = metrics.registry(FleetState(gate.container))
        body = await run_in_threadpool(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST,
                        headers={"Cache-Control": "no-store"})

    return router
