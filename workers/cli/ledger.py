"""``fleet trades`` (closed trades) and ``fleet transactions`` (the ledger): filters by agent,
token, reason and time range; a table, ``--json`` or ``--csv`` (full precision, for
spreadsheets)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer

from workers.cli import formatting as f
from workers.cli.common import (
    CsvOpt,
    JsonOpt,
    Output,
    WideOpt,
    emit,
    errors,
    group,
    reads,
)

if TYPE_CHECKING:
    from persistence import listings

trades_app = group("Closed trades (`fleet trades` lists them).", invoke_without_command=True,
                   no_args_is_help=False)

# persistence.listings.CLOSE_REASONS / TRANSACTION_REASONS (written out: importing the
# listings here would load psycopg for `fleet --help`; a unit test keeps them equal)
CLOSE_REASONS = ("stop_loss", "take_profit", "stale_trade", "signal", "manual", "burn")
TRANSACTION_REASONS = ("deposit", "withdrawal", "buy", "dca", "take_profit", "sell", "burn",
                       "sync_deposit", "sync_withdrawal", "unexplained",
                       "stop_loss", "stale_trade", "signal", "manual")
AgentOpt = typer.Option(None, "--agent", help="only this agent's rows (its name or id)")
TokenOpt = typer.Option(None, "--token", help="a mint or a symbol")
SinceOpt = typer.Option(None, "--since", help="from this time (ISO 8601, UTC if no zone), "
                                              "or 24h / 7d back from now")
UntilOpt = typer.Option(None, "--until", help="before this time (ISO 8601 or 24h / 7d ago)")
LimitOpt = typer.Option(100, "--limit", min=0, help="newest rows first; 0 = all")


def parse_time(text: str | None, field: str, now: datetime) -> datetime | None:
    """ISO 8601 (UTC when no zone is given), or ``<n>h`` / ``<n>d`` before ``now``."""
    from domain.errors import InvalidInput

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
    from persistence import listings

    now = datetime.now(UTC)
    return listings.LedgerFilter(agent_id=agent, token=token, reason=reason,
                                 since=parse_time(since, "since", now),
                                 until=parse_time(until, "until", now))


def _rows(kind: str, agent: str | None, token: str | None, reason: str | None,
          since: str | None, until: str | None, limit: int) -> list[dict[str, Any]]:
    from persistence import listings
    from workers.cli.agents import resolve_agent

    with errors(), reads() as conn:
        found = _filter(resolve_agent(conn, agent), token, reason, since, until)
        page = getattr(listings, kind)(conn, found, limit=limit or None)
    rows: list[dict[str, Any]] = page.rows
    return rows


@trades_app.callback()
def trades(ctx: typer.Context, agent: str | None = AgentOpt, token: str | None = TokenOpt,
           reason: str | None = typer.Option(
               None, "--reason", help=f"close reason: {', '.join(CLOSE_REASONS)}"),
           since: str | None = SinceOpt, until: str | None = UntilOpt, limit: int = LimitOpt,
           as_json: bool = JsonOpt, as_csv: bool = CsvOpt, wide: bool = WideOpt) -> None:
    """Closed trades, newest first, with their PnL and close reason."""
    if ctx.invoked_subcommand is not None:
        return
    rows = _rows("trades", agent, token, reason, since, until, limit)
    emit(rows, title="closed trades", output=Output(as_json, as_csv, wide), columns=[
        f.Column("agent_name", "agent"), f.Column("agent_id", "agent id", wide=True),
        f.Column(f.token, "token", whole=True), f.Column("token_address", "mint", wide=True),
        f.Column("close_reason", "reason"), f.sol_col("amount", "amount", wide=True),
        f.sol_col("purchase_price", "bought at", wide=True),
        f.sol_col("sale_price", "sold at", wide=True), f.sol_col("profit_loss_sol", "PnL SOL"),
        f.pct_col("change_percent", "change %"),
        f.Column("sale_time", "sold (UTC)", f.moment, whole=True),
        f.Column("signal_id", "signal", wide=True), f.id_col("id", "id", wide=True)])


def transactions(agent: str | None = AgentOpt, token: str | None = TokenOpt,
                 reason: str | None = typer.Option(
                     None, "--reason", help=f"one of {', '.join(TRANSACTION_REASONS)}"),
                 since: str | None = SinceOpt, until: str | None = UntilOpt,
                 limit: int = LimitOpt, as_json: bool = JsonOpt, as_csv: bool = CsvOpt,
                 wide: bool = WideOpt) -> None:
    """Ledger rows (deposits, withdrawals, buys, DCAs, sales), newest first, with a reason."""
    rows = _rows("transactions", agent, token, reason, since, until, limit)
    emit(rows, title="transactions", output=Output(as_json, as_csv, wide), columns=[
        f.Column("transaction_time", "time (UTC)", f.moment, whole=True),
        f.Column("agent_name", "agent"), f.Column("agent_id", "agent id", wide=True),
        f.Column("reason", "reason"), f.Column(_sold, "sold", whole=True),
        f.Column(_bought, "bought", whole=True),
        f.sol_col("protocol_fee_sol", "fee SOL", wide=True),
        f.sol_col("network_fee_sol", "network fee", wide=True),
        f.Column("signal_id", "signal", wide=True), f.id_col("id", "id", wide=True)])


def _side(row: dict[str, Any], side: str) -> str:
    if row.get(f"{side}_amount") is None:
        return ""
    symbol = row.get(f"{side}_symbol") or f.short(row.get(f"{side}_mint"))
    return f"{f.amount(row[f'{side}_amount'])} {symbol}"


def _sold(row: dict[str, Any]) -> str:
    return _side(row, "input")


def _bought(row: dict[str, Any]) -> str:
    return _side(row, "output")
