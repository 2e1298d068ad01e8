"""HTTP ingest for providers that cannot reach Redis: ``POST /v1/signals`` (FastAPI).

Each request: authenticate ``X-API-Key`` and count it against the key's rate limit
(``workers.http.auth.require_scope("signals")``), read the body through its strict model
(``workers.http.request``: the OpenAPI schema is generated from it) and the parser, give
the signal to the key's user (another user only with the ``admin`` scope), store it and
enqueue its fan-out after commit (``store_signals``), answer 201 with the stored row. Nothing
here holds state: run as many processes as needed.

No ``from __future__ import annotations`` here: FastAPI reads the dependency annotations of
the routes (defined inside ``create_app``) at runtime.
"""

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from fastapi import Depends, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from domain.channels import http_namespace
from domain.errors import InvalidSignal
from domain.json_text import REPEATED, RepeatedKey, loads_exact
from workers.bootstrap import Container
from workers.handlers.operators.keys import Principal
from workers.handlers.shared.deps import Deps
from workers.handlers.signals.ingest import Ingested, store_signals
from workers.http.auth import Gate, install_gate, require_scope, signal_owner
from workers.http.dashboard import dashboard_router
from workers.http.errors import Duplicate, TooLarge, install_error_handlers
from workers.http.metrics_api import metrics_router
from workers.http.ratelimit import RateLimiter
from workers.http.read_api import read_router
from workers.http.request import read_signal_body, request_body, signal_request
from workers.http.schemas import RESPONSES, Health, SignalOut

log = structlog.get_logger(__name__)
DESCRIPTION = """Push trading signals to signalfleet over HTTP.

Authenticate with an `X-API-Key` header (scope `signals`). A signal belongs to the key's user
and reaches only that user's agents; a `user_id` naming another user answers 403 unless the
key has the `admin` scope. A stored signal answers 201; its fan-out to the agents is enqueued
after the row commits. Errors name the bad field."""


@dataclass(frozen=True)
class IngestService:
    deps: Deps
    limiter: RateLimiter
    max_body_bytes: int
    model: type[BaseModel]  # the request body: what is enforced is what the schema says

    def store(self, payload: Any, principal: Principal) -> SignalOut:
        rt = self.deps
        signal = read_signal_body(payload, self.model, rt.vocabulary)
        owner = signal_owner(principal, signal.user_id)
        if owner != principal.user_id:
            with rt.uow() as uow:
                if not uow.users.exists(owner):
                    raise InvalidSignal("user_id", f"no user {owner}")
        signal = dataclasses.replace(signal, user_id=owner)
        result: Ingested = store_signals([signal], rt, http_namespace(principal.user_id))[0]
        if not result.created:
            raise Duplicate(result.signal_id)
        with rt.uow() as uow:
            stored = uow.signals.get(result.signal_id)
        log.info("http.signal_stored", signal_id=stored.id, key_id=str(principal.key_id))
        s = stored.signal
        return SignalOut(id=stored.id, status=stored.status, received_at=stored.received_at,
                         token_address=s.token_address, signal_type=s.signal_type,
                         signal_strength=s.signal_strength, symbol=s.symbol,
                         activation_reason=s.activation_reason, source=s.source,
                         idempotency_key=s.idempotency_key, user_id=s.user_id)


async def read_json(request: Request, max_bytes: int) -> Any:
    """The body as JSON, numbers with a fraction as Decimal (never float)."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise TooLarge(max_bytes)
    try:
        return loads_exact(body, unique_keys=True)
    except RepeatedKey as exc:
        raise InvalidSignal(exc.key, REPEATED) from None
    except ValueError:
        raise InvalidSignal("payload", "not valid JSON") from None


def create_app(container: Container, *, deps: Deps | None = None) -> FastAPI:
    """The ASGI app on the container's database and Redis (OpenAPI at /openapi.json, /docs);
    ``deps`` replaces the container's wiring (tests record the enqueued fan-outs)."""
    settings = container.settings
    deps = deps or container.deps
    service = IngestService(
        deps=deps, limiter=RateLimiter(container.redis, settings.http_rate_limit_per_minute),
        max_body_bytes=settings.http_max_body_bytes, model=signal_request(deps.vocabulary))
    app = FastAPI(title="signalfleet ingest", version="1", description=DESCRIPTION)
    install_error_handlers(app)
    install_gate(app, Gate(container, service.deps, service.limiter))
    app.include_router(read_router())
    app.include_router(metrics_router())
    app.include_router(dashboard_router())
    signals_key = Depends(require_scope("signals"))

    @app.post("/v1/signals", status_code=201, response_model=SignalOut, responses=RESPONSES,
              openapi_extra=request_body(service.model), summary="Push one signal",
              tags=["signals"])
    async def post_signal(request: Request,
                          who: Annotated[Principal, signals_key]) -> SignalOut:
        payload = await read_json(request, service.max_body_bytes)
        return await run_in_threadpool(service.store, payload, who)

    @app.get("/v1/health", response_model=Health, summary="Liveness", tags=["ops"])
    def health(response: Response) -> Health:
        response.headers["Cache-Control"] = "no-store"
        return Health(status="ok")

    app.state.service = service
    return app


def build() -> FastAPI:
    """The uvicorn factory (``fleet http-ingest``): one container per process."""
    import workers.celery_app  # noqa: F401 -- registers how fan-outs are enqueued
    from workers.bootstrap import container

    rt = container()
    rt.require_schema_at_head()
    rt.redis.ping()
    log.info("http.started", rate_limit_per_minute=rt.settings.http_rate_limit_per_minute)
    return create_app(rt)

