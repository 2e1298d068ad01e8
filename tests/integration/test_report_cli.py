"""``fleet report --plot``, ``fleet prices replay`` and ``fleet snapshots take`` on real
PostgreSQL and Redis, run in-process through typer's CliRunner."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import redis
from matplotlib import image
from sqlalchemy import Engine
from typer.testing import CliRunner

from domain.ledger import ClosedTrade
from domain.performance import Snapshot
from domain.ports import PriceQuote
from domain.wallets import Wallet
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.fakes import Store, make_deps
from tests.integration.cli_support import cli
from tests.integration.test_repositories import MINT, NOW, buy_tx, deposit_tx, make_agent
from workers.adapters.prices import STATIC_PRICES_KEY, StaticPriceFeed
from workers.bootstrap import SystemClock
from workers.cli import app
from workers.cli.trading import draw_plot
from workers.handlers.operators.report import report, report_series
from workers.handlers.shared.deps import Deps

BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
LIVE_WALLET = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"


class NoPrices:
    def get_prices(self, tokens: Any) -> dict[str, PriceQuote]:
        return {}


def trade(uow: SqlAlchemyUnitOfWork, agent: Any, wallet: Wallet, hours: int,
          pnl: str, symbol: str) -> None:
    buy, sale = buy_tx(agent, wallet, D(1), D(1000)), buy_tx(agent, wallet, D(1), D(1000))
    uow.transactions.add(buy)
    uow.transactions.add(sale)
    uow.history.add(ClosedTrade(
        agent_id=agent.id, wallet_address=wallet.wallet_address, token_address=MINT,
        token_symbol=symbol, amount=D(1000), purchase_price=D("0.001"), sale_price=D("0.001"),
        change_percent=D(pnl) * 100, profit_loss_sol=D(pnl), profit_loss_usd=None,
        purchase_time=NOW, sale_time=NOW + timedelta(hours=hours),
        purchase_transaction_id=buy.id, sale_transaction_id=sale.id, signal_id=None,
        close_reason="signal"))


def snap(value: str) -> Snapshot:
    return Snapshot(D(value), D(0), D(0), D(value))


@pytest.fixture
def fleet_data(uow: SqlAlchemyUnitOfWork) -> Any:
    """alpha: two wallets snapshotted over three hours, two closed trades; beta: one hour."""
    with uow:
        alpha, sim = make_agent(uow, "alpha")
        live = Wallet(LIVE_WALLET, alpha.id, "live")
        uow.wallets.add(live)
        beta, beta_wallet = make_agent(uow, "beta")
        for hour, (a, b) in enumerate([("10", "1"), ("8", "1"), ("9", "2")]):
            at = NOW + timedelta(hours=hour)
            uow.snapshots.upsert_many(at, [(alpha.id, sim.wallet_address, snap(a)),
                                           (alpha.id, live.wallet_address, snap(b))])
        uow.snapshots.upsert_many(NOW, [(beta.id, beta_wallet.wallet_address, snap("5"))])
        trade(uow, alpha, sim, 2, "-0.05", "WIF")
        trade(uow, alpha, sim, 1, "0.2", "BONK")
        uow.commit()
    return alpha, beta


def deps(engine: Engine) -> Deps:
    factory = make_session_factory(engine)
    return replace(make_deps(Store({}, []), now=datetime.now(UTC)),
                   uow=lambda: SqlAlchemyUnitOfWork(factory), prices=NoPrices())


def test_the_report_series_are_the_stored_snapshots_and_trades(
        fleet_data: Any, clean_db: Engine, tmp_path: Path) -> None:
    alpha, _ = fleet_data
    series = report_series(None, None, deps(clean_db))
    curves = {name.split()[0]: [p.portfolio_balance_sol for p in points]
              for name, points in series.equity.items()}
    assert curves == {"alpha": [D(11), D(9), D(11)], "beta": [D(5)]}  # wallets summed
    assert [(t.label, t.profit_loss_sol) for t in series.trades] == [
        ("BONK", D("0.2")), ("WIF", D("-0.05"))]  # by sale time
    plotted = draw_plot(tmp_path / "all.png", None, None, "all", deps(clean_db))
    assert sorted(plotted.curves.values()) == [[5.0], [11.0, 9.0, 11.0]]
    assert plotted.bars == [0.2, -0.05]
    [row] = report(alpha.id, None, deps(clean_db))
    assert row.performance.max_drawdown_percent == D("18.1818")  # same curve, one formula


def test_since_and_agent_narrow_the_series(fleet_data: Any, clean_db: Engine) -> None:
    alpha, _ = fleet_data
    series = report_series(alpha.id, NOW + timedelta(hours=2), deps(clean_db))
    [points] = series.equity.values()
    assert [p.portfolio_balance_sol for p in points] == [D(11)]
    assert [t.label for t in series.trades] == ["WIF"]

__all__ = ["cli"]  # the fixture, imported for the tests below


# --- the commands, in-process (the `cli` fixture: tests/integration/cli_support.py) -----------

def test_report_plot_writes_a_png(fleet_data: Any, cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "report.png"
    result = cli.invoke(app, ["report", "--plot", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert {r["name"] for r in json.loads(result.stdout)} == {"alpha", "beta"}
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.imread(out).ndim == 3


@pytest.mark.parametrize(("args", "field"), [
    (["--plot", "report.txt"], "plot"), (["--plot", "nowhere/report.png"], "plot"),
    (["--since", "last week"], "since"), (["--since", "99999999999d"], "since"),
])
def test_report_bad_input_names_the_field(clean_db: Engine, cli: CliRunner, tmp_path: Path,
                                          args: list[str], field: str) -> None:
    args = [str(tmp_path / a) if a.endswith((".txt", ".png")) else a for a in args]
    result = cli.invoke(app, ["report", *args])
    assert result.exit_code == 2
    assert f"error: {field}:" in result.stderr


def test_prices_replay_pushes_the_file_into_the_static_feed(
        cli: CliRunner, redis_client: redis.Redis, clean_db: Engine, tmp_path: Path) -> None:
    market = tmp_path / "market.jsonl"
    market.write_text("\n".join(json.dumps(t) for t in [
        {"offset_s": 0, "token": BONK, "price_sol": "0.001", "price_usd": "0.15"},
        {"offset_s": 0.2, "token": MINT, "price_sol": "0.5"},
        {"offset_s": 0.4, "token": BONK, "price_sol": "0.0025"}]))
    result = cli.invoke(app, ["prices", "replay", str(market), "--speed", "4"])
    assert result.exit_code == 0, result.output
    assert "pushed 3 ticks" in result.stderr
    quotes = StaticPriceFeed(redis_client, SystemClock()).all_prices()
    assert {t: (q.price_sol, q.price_usd) for t, q in quotes.items()} == {
        BONK: (D("0.0025"), None), MINT: (D("0.5"), None)}  # the latest tick wins
    assert redis_client.hlen(STATIC_PRICES_KEY) == 2


def test_prices_replay_refuses_a_bad_line(cli: CliRunner, redis_client: redis.Redis,
                                          clean_db: Engine, tmp_path: Path) -> None:
    market = tmp_path / "market.jsonl"
    market.write_text(json.dumps({"offset_s": 0, "token": BONK, "price_sol": "-1"}))
    result = cli.invoke(app, ["prices", "replay", str(market)])
    assert result.exit_code == 2 and "line 1.price_sol" in result.stderr
    assert redis_client.hlen(STATIC_PRICES_KEY) == 0


def test_snapshots_take_writes_one_row_per_wallet(
        uow: SqlAlchemyUnitOfWork, cli: CliRunner, redis_client: redis.Redis) -> None:
    with uow:
        agent, wallet = make_agent(uow)
        deposit = deposit_tx(agent, wallet, D("3.5"))
        uow.transactions.add(deposit)
        uow.balances.apply(agent.id, deposit, NOW)
        uow.commit()
    result = cli.invoke(app, ["snapshots", "take"])
    assert result.exit_code == 0, result.output
    assert "snapshot written for 1 wallets" in result.stdout
    with uow:
        [stored] = uow.snapshots.for_agent(agent.id)
    assert stored.snapshot.portfolio_balance_sol == D("3.5")
