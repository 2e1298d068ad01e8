"""What each dashboard page shows, gathered from the read API's queries (persistence/views.py,
persistence/listings.py, persistence/feed.py), its position view (stop price, take-profit
progress, moon bag) and the operators' report (realized and unrealized PnL, equity curve).
No SQL here. ``scope`` is the user whose agents are shown; None: every user (admin)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

from persistence import feed, listings, views
from persistence.read_connection import of_session
from workers.doctor import Check, Doctor
from workers.handlers.operators.report import AgentReport, PositionValue, report, report_series
from workers.http import present
from workers.http.auth import Gate
from workers.http.read_api import position_out


def _positions(gate: Gate, scope: uuid.UUID | None, reports: list[AgentReport],
               agent_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    valued: dict[uuid.UUID, PositionValue] = {
        p.position_id: p for r in reports for p in r.positions}
    with gate.container.session_factory() as db:
        rows = views.positions(db, scope, agent_id)
    out = []
    for row in rows:
        view = position_out(row)
        value = valued.get(view.id)
        out.append({"p": view, "price": value.price_sol if value else None,
                    "value": value.value_sol if value else None,
                    "unrealized": value.unrealized_pnl_sol if value else None})
    return out


def overview(gate: Gate, scope: uuid.UUID | None) -> dict[str, Any]:
    reports = report(None, None, gate.deps, user_id=scope)
    by_agent = {r.agent_id: r for r in reports}
    with gate.container.session_factory() as db:
        agents = views.agents(db, scope)
        latest = feed.executions(db, scope, limit=20)
    positions = _positions(gate, scope, reports)
    rows = []
    for a in agents:
        r = by_agent.get(a["id"])
        held = [p for p in positions if p["p"].agent_id == a["id"]]
        rows.append({**a, "realized": r.performance.realized_pnl_sol if r else None,
                     "unrealized": r.performance.unrealized_pnl_sol if r else None,
                     "exposure": _exposure(held)})
    totals = {key: sum((row[key] or Decimal(0) for row in rows), Decimal(0))
              for key in ("sol_balance", "exposure", "realized", "unrealized")}
    return {"agents": rows, "positions": positions, "executions": latest, "totals": totals,
            "names": {a["id"]: a["name"] for a in agents}}


def _exposure(held: list[dict[str, Any]]) -> Decimal:
    """What the open positions are worth now (at cost where a position has no price)."""
    return sum((p["value"] if p["value"] is not None else p["p"].total_invested_sol
                for p in held), Decimal(0))


def agent_page(gate: Gate, scope: uuid.UUID | None, agent_id: uuid.UUID) -> dict[str, Any] | None:
    with gate.container.session_factory() as db:
        found = views.agents(db, scope, agent_id)
        if not found:
            return None
        trades = listings.trades(of_session(db), listings.LedgerFilter(scope, agent_id),
                                 limit=50).rows
        executions = feed.executions(db, scope, agent_id=agent_id, limit=50)
    [r] = report(agent_id, None, gate.deps)
    curves = list(report_series(agent_id, None, gate.deps).equity.values())
    points = [(p.hour, p.portfolio_balance_sol, p.net_deposits_sol)
              for p in (curves[0] if curves else [])]
    return {"agent": found[0], "performance": r.performance, "unpriced": r.unpriced,
            "positions": _positions(gate, scope, [r], agent_id), "trades": trades,
            "executions": executions, "equity_svg": present.equity_svg(points)}


def signals(gate: Gate, scope: uuid.UUID | None) -> dict[str, Any]:
    with gate.container.session_factory() as db:
        latest = feed.signals(db, scope, limit=30)
        outcomes = feed.executions(db, scope, signal_ids=[s["id"] for s in latest], limit=1000)
    by_signal: dict[int, list[dict[str, Any]]] = {}
    for e in outcomes:
        by_signal.setdefault(e["signal_id"], []).append(e)
    return {"signals": latest, "outcomes": by_signal}


PER_AGENT_CHECKS = ("configs", "positions")  # their details name every user's agents/positions


def health(gate: Gate, *, admin: bool) -> list[Check]:
    """``fleet doctor``'s checks, as another user may see them (``for_user``)."""
    c = gate.container
    return for_user(Doctor(c.settings, c.urls).run(), admin=admin)


def for_user(checks: list[Check], *, admin: bool) -> list[Check]:
    """The checks whose details list every user's agents or positions (configs, positions)
    keep only their verdict and count for a key without ``admin``."""
    if admin:
        return checks
    return [replace(k, detail=k.detail.split(":")[0])
            if k.name in PER_AGENT_CHECKS and not k.detail.startswith("not checked") else k
            for k in checks]
