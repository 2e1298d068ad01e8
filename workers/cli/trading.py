"""``fleet report`` (performance, SPEC §10) and ``fleet positions close ID`` (SPEC §7)."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import typer

from domain.errors import InvalidInput
from workers.cli.common import console, container, emit, errors
from workers.handlers.manual_close import close_position
from workers.handlers.report import report as report_case

_SINCE = re.compile(r"(\d+)([hd])")
JsonOpt = typer.Option(False, "--json", help="Print JSON for scripts.")


def _runtime() -> Any:
    from workers.runtime import runtime

    container()  # refuses a database not at head
    return runtime()


def parse_since(text: str, now: datetime) -> datetime | None:
    """``all`` → None; ``24h`` / ``7d`` → that long before ``now``."""
    if text == "all":
        return None
    match = _SINCE.fullmatch(text)
    if match is None:
        raise InvalidInput("since", "use all, <n>h or <n>d (e.g. 24h)")
    unit = "hours" if match.group(2) == "h" else "days"
    return now - timedelta(**{unit: int(match.group(1))})


def report(agent: uuid.UUID | None = typer.Option(None, "--agent"),
           since: str = typer.Option("all", "--since", help="all, 24h, 7d, …"),
           as_json: bool = JsonOpt) -> None:
    """Realized and unrealized PnL, win rate, average return, trades, fees, max drawdown."""
    from workers.position_jobs import report_deps

    with errors():
        rt = _runtime()
        reports = report_case(agent, parse_since(since, rt.clock.now()), report_deps(rt))
    rows = [{"agent_id": r.agent_id, "name": r.name, **dataclasses.asdict(r.performance)}
            for r in reports]
    emit(rows, as_json=as_json, title=f"performance (since {since})")


def close(position_id: uuid.UUID) -> None:
    """Sell a position's whole holding now (close reason ``manual``)."""
    from workers.position_jobs import manual_close_deps

    with errors():
        rt = _runtime()
        result = close_position(position_id, manual_close_deps(rt))
    if not result.closed:
        console.print(f"not closed: {result.reason}")
        raise typer.Exit(1)
    console.print(f"closed; sale transaction {result.sale_transaction_id}")
