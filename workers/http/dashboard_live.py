"""``GET /dashboard/events``: server-sent events for the dashboard, authenticated by the session
cookie. Twice a second the stream looks (cheaply: the latest 20 rows of the caller's agents, the
cached prices of the tokens they hold) for new executions, closed trades and price changes, and
sends each as an event (``execution``, ``trade``, ``price``) with its figures as JSON; the
first look only records what is there and answers ``ready``. A comment line keeps idle
connections open; ``retry:`` tells the browser to reconnect within a
second after the app restarts. Signing out (or the session expiring) ends the stream.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from persistence import feed, listings, views
from persistence.read_connection import of_session
from workers.http import present, web_session
from workers.http.auth import Gate
from workers.http.web_session import SignInRequired, WebSession

POLL_SECONDS = 0.5
RETRY_MS = 1000
KEEPALIVE_TICKS = 15


@dataclass
class Watermarks:
    """What this stream has already sent (the first look only records, sends nothing)."""

    executions: set[tuple[str, str]] = field(default_factory=set)
    trades: set[str] = field(default_factory=set)
    prices: dict[str, str] = field(default_factory=dict)
    primed: bool = False


def _look(gate: Gate, scope: uuid.UUID | None, seen: Watermarks) -> list[tuple[str, Any]]:
    with gate.container.session_factory() as db:
        executions = feed.executions(db, scope, limit=20)
        trades = listings.trades(of_session(db), listings.LedgerFilter(scope), limit=20).rows
        tokens = sorted({p["token_address"] for p in views.positions(db, scope)})
    quotes = gate.container.cache.latest_prices(tokens)
    out: list[tuple[str, Any]] = []
    for e in reversed(executions):
        mark = (str(e["id"]), e["status"])
        if mark not in seen.executions:
            seen.executions.add(mark)
            out.append(("execution", _execution(e)))
    for t in reversed(trades):
        if str(t["id"]) not in seen.trades:
            seen.trades.add(str(t["id"]))
            out.append(("trade", _trade(t)))
    for token, quote in quotes.items():
        text = present.plain(quote.price_sol)
        if seen.prices.get(token) != text:
            seen.prices[token] = text
            out.append(("price", {"token_address": token, "price_sol": text,
                                  "observed_at": present.when(quote.observed_at)}))
    primed, seen.primed = seen.primed, True
    return out if primed else [("ready", {})]


def _execution(e: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(e["id"]), "signal_id": e["signal_id"], "agent_id": str(e["agent_id"]),
            "agent_name": e["agent_name"], "status": e["status"], "action": e["action"],
            "reason": e["reason"] or "", "token": e["symbol"] or present.short(e["token_address"]),
            "executed_at": present.when(e["executed_at"])}


def _trade(t: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(t["id"]), "agent_id": str(t["agent_id"]), "agent_name": t["agent_name"],
            "token": t["token_symbol"] or present.short(t["token_address"]),
            "close_reason": t["close_reason"], "amount": present.plain(t["amount"]),
            "purchase_price": present.plain(t["purchase_price"]),
            "sale_price": present.plain(t["sale_price"]), "profit_loss_sol": present.signed_sol(
                t["profit_loss_sol"]), "change_percent": present.pct(t["change_percent"]),
            "sale_time": present.when(t["sale_time"])}


def _event(name: str, payload: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(payload)}\n\n"


async def stream(request: Request, who: WebSession) -> AsyncIterator[str]:
    gate: Gate = request.app.state.gate
    seen = Watermarks()
    yield f"retry: {RETRY_MS}\n: connected\n\n"
    ticks = 0
    while not await request.is_disconnected():
        try:
            await run_in_threadpool(web_session.current, request)
        except SignInRequired:
            yield _event("signed_out", {})
            return
        for name, payload in await run_in_threadpool(_look, gate, who.scope, seen):
            yield _event(name, payload)
        ticks += 1
        if ticks % KEEPALIVE_TICKS == 0:
            yield ": keep-alive\n\n"
        await asyncio.sleep(POLL_SECONDS)


def live_router(session: Callable[..., WebSession]) -> APIRouter:
    router = APIRouter()

    @router.get("/events")
    def events(request: Request, who: WebSession = Depends(session)) -> StreamingResponse:  # noqa: B008
        return StreamingResponse(stream(request, who), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store",
                                          "X-Accel-Buffering": "no"})

    return router
