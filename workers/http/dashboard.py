"""The read-only dashboard: server-rendered pages (Jinja2) over the read API's queries.

``/dashboard/login`` signs in with an API key holding the ``read`` scope
(workers/http/web_session.py); then the fleet overview, one agent's page, the signals feed and
health (the checks of ``fleet doctor``). Each user sees only their own agents (an ``admin``
key: every agent); another user's agent answers 404. Live updates come from
``/dashboard/events`` (workers/http/dashboard_live.py). No CDN, no build step: the CSS and
JavaScript are served from workers/http/static/.

No ``from __future__ import annotations`` here: FastAPI reads the route annotations.
"""

import uuid
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from domain.errors import DomainError
from workers.http import dashboard_data as data
from workers.http import present, web_session
from workers.http.auth import Gate
from workers.http.dashboard_live import live_router
from workers.http.errors import RateLimited
from workers.http.web_session import BadCsrf, SignInRequired, WebSession

HERE = Path(__file__).parent
STATIC = {"dashboard.css": "text/css", "dashboard.js": "text/javascript"}
MAX_FORM_BYTES = 4096
templates = Jinja2Templates(directory=HERE / "templates")
present.register(templates.env)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store"}


def _session(request: Request) -> WebSession:
    try:
        return web_session.current(request)
    except SignInRequired:
        raise HTTPException(303, "sign in first",
                            headers={"Location": "/dashboard/login"}) from None


Session = Annotated[WebSession, Depends(_session)]


def _gate(request: Request) -> Gate:
    gate: Gate = request.app.state.gate
    return gate


def page(request: Request, name: str, who: WebSession | None, status: int = 200,
         **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, name, {"who": who, "csrf": who.csrf if who else None, **context},
        status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, "form too large")
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


def dashboard_router() -> APIRouter:
    router = APIRouter(prefix="/dashboard", include_in_schema=False)
    router.include_router(live_router(_session))

    @router.get("/login")
    def login_form(request: Request) -> HTMLResponse:
        return _login_page(request, None, 200)

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await _form(request)
        try:
            web_session.check_csrf(request.cookies.get(web_session.LOGIN_CSRF_COOKIE),
                                   form.get("csrf_token"))
        except BadCsrf:
            return _login_page(request, "The form expired: sign in again.", 400)
        try:
            who = await run_in_threadpool(_gate(request).authorize,
                                          form.get("api_key", "").strip(), "read")
        except RateLimited:
            return _login_page(request, "Too many attempts: wait a minute.", 429)
        except DomainError as exc:
            return _login_page(request, f"Sign-in refused: {exc}.", 401)
        response = RedirectResponse("/dashboard", status_code=303)
        web_session.start(request, response, who)
        return response

    @router.post("/logout")
    async def logout(request: Request, who: Session) -> Response:
        form = await _form(request)
        try:
            web_session.check_csrf(who.csrf, form.get("csrf_token"))
        except BadCsrf:
            raise HTTPException(400, "bad CSRF token") from None
        response = RedirectResponse("/dashboard/login", status_code=303)
        web_session.end(request, response)
        return response

    @router.get("")
    def overview(request: Request, who: Session) -> HTMLResponse:
        shown = data.overview(_gate(request), who.scope)
        return page(request, "overview.html", who, active="overview", **shown)

    @router.get("/agents/{agent_id}")
    def agent(request: Request, agent_id: uuid.UUID, who: Session) -> HTMLResponse:
        found = data.agent_page(_gate(request), who.scope, agent_id)
        if found is None:
            return page(request, "missing.html", who, status=404)
        return page(request, "agent.html", who, **found)

    @router.get("/signals")
    def signals(request: Request, who: Session) -> HTMLResponse:
        shown = data.signals(_gate(request), who.scope)
        return page(request, "signals.html", who, active="signals", **shown)

    @router.get("/health")
    def health(request: Request, who: Session) -> HTMLResponse:
        checks = data.health(_gate(request), admin=who.principal.is_admin)
        return page(request, "health.html", who, active="health", checks=checks)

    @router.get("/static/{name}")
    def static(name: str) -> FileResponse:
        if name not in STATIC:
            raise HTTPException(404, "no such file")
        return FileResponse(HERE / "static" / name, media_type=STATIC[name],
                            headers={"Cache-Control": "max-age=300"})

    return router


def _login_page(request: Request, error: str | None, status: int) -> HTMLResponse:
    token = web_session.login_token(request)
    response = page(request, "login.html", None, status=status, error=error, login_csrf=token)
    web_session.keep_login_token(request, response, token)
    return response
