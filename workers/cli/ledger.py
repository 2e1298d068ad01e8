"""``fleet trades`` (closed trades) and ``fleet transactions`` (the ledger): filters by agent,
token, reason and time range; a table, ``--json`` or ``--csv`` (full precision, for
spreadsheets)."""

from __future__ import annotations

import csv
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import typer

from domain.errors import InvalidInput
from persistence import listings
from workers.cli.common import container, emit, errors

trades_app = typer.Typer(help="Closed trades (`fleet trades` lists them).",
                         invoke_without_command=True)

AgentOpt = typer.Option(None, "--agent", help="only this agent's rows")
TokenOpt = typer.Option(None, "--token", help="a mint or a symbol")
SinceOpt = typer.Option(None, "--since", help="from this time (ISO 8601, UTC if no zone), "
                                              "or 24h / 7d back from now")
UntilOpt = typer.Option(None, "--until", help="before this time (ISO 8601 or 24h / 7d ago)")
LimitOpt = typer.Option(100, "--limit", min=0, help="newest rows first; 0 = all")
JsonOpt = typer.Option(False, "--json", help="Print JSON for scripts.")
CsvOpt = typer.Option(False, "--csv", help="Print CSV (every column, full precision).")


def _session() -> Any:
    return container().session_factory()  # refuses a database not at head


def parse_time(text: str | None, field: str, now: datetime) -> datetime | None:
    """ISO 8601 (UTC when no zone is given), or ``<n>h`` / ``<n>d`` before ``now``."""
    if text is None:
        return None
    from workers.cli.trading import parse_since

    if text[:-1].isdigit() and text[-1:] in ("h", "d"):
        try:
            return parse_since(text, now)
        except InvalidInput as exc:
            raise InvalidInput(field, exc.reason) from None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field, "use an ISO 8601 time (2026-01-31T12:00) or 24h / 7d"
                           ) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _filter(agent: uuid.UUID | None, token: str | None, reason: str | None,
            since: str | None, until: str | None) -> listings.LedgerFilter:
    now = datetime.now(UTC)
    return listings.LedgerFilter(agent_id=agent, token=token, reason=reason,
                                 since=parse_time(since, "since", now),
                                 until=parse_time(until, "until", now))


def _output(rows: list[dict[str, Any]], *, as_json: bool, as_csv: bool, title: str) -> None:
    if as_csv:
        write_csv(rows)
    else:
        emit(rows, as_json=as_json, title=title)


def write_csv(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    out = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
    out.writeheader()
    for row in rows:
        out.writerow({k: _cell(v) for k, v in row.items()})


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if not isinstance(value, str) else value


@trades_app.callback()
def trades(ctx: typer.Context, agent: uuid.UUID | None = AgentOpt, token: str | None = TokenOpt,
           reason: str | None = typer.Option(
               None, "--reason", help=f"close reason: {', '.join(listings.CLOSE_REASONS)}"),
           since: str | None = SinceOpt, until: str | None = UntilOpt, limit: int = LimitOpt,
           as_json: bool = JsonOpt, as_csv: bool = CsvOpt) -> None:
    """Closed trades, newest first, with their PnL and close reason."""
    if ctx.invoked_subcommand is not None:
        return
    with errors():
        f = _filter(agent, token, reason, since, until)
        with _session() as s:
            page = listings.trades(s, f, limit=limit or None)
    _output(page.rows, as_json=as_json, as_csv=as_csv, title="closed trades")


def transactions(agent: uuid.UUID | None = AgentOpt, token: str | None = TokenOpt,
                 reason: str | None = typer.Option(
                     None, "--reason",
                     help=f"one of {', '.join(listings.TRANSACTION_REASONS)}"),
                 since: str | None = SinceOpt, until: str | None = UntilOpt,
                 limit: int = LimitOpt, as_json: bool = JsonOpt, as_csv: bool = CsvOpt) -> None:
    """Ledger rows (deposits, withdrawals, buys, DCAs, sales), newest first, with a reason."""
    with errors():
        f = _filter(agent, token, reason, since, until)
        with _session() as s:
            page = listings.transactions(s, f, limit=limit or None)
    _output(page.rows, as_json=as_json, as_csv=as_csv, title="transactions")
