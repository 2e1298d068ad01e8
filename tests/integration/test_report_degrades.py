"""``fleet report`` on real PostgreSQL: a missing price (or a feed that is down) leaves that
position's unrealized PnL unknown and the rest of the report standing; the plot's series
start at the first deposit with the net-deposit baseline and the return on it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal as D
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from domain.errors import TransientError
from domain.performance import Snapshot
from domain.ports import PriceQuote
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.fakes import db_deps
from tests.integration.cli_support import cli
from tests.integration.ledger_support import BONK, T0, WIF, funded_agent, open_position
from workers.adapters.prices import StaticPriceFeed
from workers.bootstrap import SystemClock
from workers.cli import app
from workers.handlers.operators.money import withdraw
from workers.handlers.operators.report import report, report_series
from workers.handlers.shared.deps import Deps

__all__ = ["cli"]


class Feed:
    def __init__(self, prices: dict[str, str] | None) -> None:
        self.prices = prices  # None: the feed is down

    def get_prices(self, tokens: Sequence[str]) -> dict[str, PriceQuote]:
        if self.prices is None:
            raise TransientError("price feed unreachable: timed out")
        return {t: PriceQuote(t, D(p), T0, "test") for t, p in self.prices.items() if t in tokens}


class Clock:
    def __init__(self, at: object) -> None:
        self.at = at

    def now(self) -> object:
        return self.at


def deps(engine: Engine, prices: dict[str, str] | None) -> Deps:
    factory = make_session_factory(engine)
    return replace(db_deps(lambda: SqlAlchemyUnitOfWork(factory)), prices=Feed(prices))


def two_positions(uow: SqlAlchemyUnitOfWork) -> None:
    agent, wallet = funded_agent(uow, "alpha", "10")
    open_position(uow, agent, wallet, BONK, "BONK", "1", "1000")
    open_position(uow, agent, wallet, WIF, "WIF", "2", "10", at=T0 + timedelta(minutes=5))


def test_a_missing_price_marks_that_position_unknown(clean_db: Engine,
                                                     uow: SqlAlchemyUnitOfWork) -> None:
    two_positions(uow)
    [row] = report(None, None, deps(clean_db, {BONK: "0.0015"}))
    assert row.performance.open_positions == 2
    assert row.performance.unrealized_pnl_sol == D("0.5")  # BONK only: 1.5 − 1
    assert row.unpriced == ("WIF",)
    wif = next(p for p in row.positions if p.token_symbol == "WIF")
    assert (wif.price_sol, wif.value_sol, wif.unrealized_pnl_sol) == (None, None, None)
    bonk = next(p for p in row.positions if p.token_symbol == "BONK")
    assert (bonk.value_sol, bonk.unrealized_pnl_sol) == (D("1.5"), D("0.5"))


def test_a_feed_that_is_down_degrades_every_position_not_the_report(
        clean_db: Engine, uow: SqlAlchemyUnitOfWork) -> None:
    two_positions(uow)
    [row] = report(None, None, deps(clean_db, None))
    assert row.unpriced == ("BONK", "WIF") and row.performance.unrealized_pnl_sol == D(0)
    assert row.performance.open_positions == 2 and row.performance.realized_pnl_sol == D(0)


def test_the_report_command_says_unknown(clean_db: Engine, uow: SqlAlchemyUnitOfWork,
                                         cli: CliRunner, redis_url: str) -> None:
    import redis

    two_positions(uow)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    StaticPriceFeed(client, SystemClock()).set_price(BONK, D("0.0015"))
    client.close()
    result = cli.invoke(app, ["report", "--json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert row["unpriced_positions"] == ["WIF"] and D(row["unrealized_pnl_sol"]) == D("0.5")
    assert {p["token_symbol"]: p["unrealized_pnl_sol"] for p in row["positions"]} == {
        "BONK": "0.50000000", "WIF": None}
    table = cli.invoke(app, ["report"])
    assert table.exit_code == 0  # (the 80-column table may cut the cell; the note does not)
    assert "1 open position(s) without a price" in table.stderr


def test_the_plot_series_start_at_the_first_deposit_with_a_baseline(
        clean_db: Engine, uow: SqlAlchemyUnitOfWork, tmp_path: Path) -> None:
    agent, _ = funded_agent(uow, "alpha", "10")
    withdraw(SqlAlchemyUnitOfWork(make_session_factory(clean_db)),
             Clock(T0 + timedelta(minutes=30)), agent.id, "2")  # type: ignore[arg-type]
    with uow:
        uow.snapshots.upsert_many(T0 + timedelta(hours=1), [
            (agent.id, _.wallet_address, Snapshot(D("8.8"), D(0), D(0), D("8.8")))])
        uow.commit()
    [points] = report_series(None, None, deps(clean_db, {})).equity.values()
    assert [(p.hour - T0, p.portfolio_balance_sol, p.net_deposits_sol, p.return_percent)
            for p in points] == [(timedelta(0), D(10), D(10), D(0)),
                                 (timedelta(hours=1), D("8.8"), D(8), D(10))]
    later = report_series(None, T0 + timedelta(minutes=10), deps(clean_db, {}))
    [window] = later.equity.values()
    assert [p.hour - T0 for p in window] == [timedelta(hours=1)]  # the deposit is before
