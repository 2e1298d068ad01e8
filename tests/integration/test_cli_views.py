"""The views a person reads: every row names its agent, numbers have sensible digits and fit
80 columns, JSON keeps full precision, and the live view labels the trailing stop and the
moon bag, shows each agent's SOL balance and total PnL, and explains its columns."""

from __future__ import annotations

import io
import json
import uuid
from decimal import Decimal as D
from typing import Any

import pytest
import redis
from rich.console import Console
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from domain.ports import PriceQuote
from domain.positions import Position
from persistence.cache import Cache
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.integration.cli_support import cli  # noqa: F401  (fixture)
from tests.integration.test_repositories import MINT, NOW, buy_tx, deposit_tx, make_agent
from workers.adapters.prices import StaticPriceFeed
from workers.bootstrap import Container, ServiceUrls, SystemClock
from workers.cli import app
from workers.cli.live_view import LEGEND, render
from workers.settings import Settings

WIF = "EKpQGSJtjMFqKZ9KQanSqYXRcF8fBopzLHYxdM65zcjm"


def position(agent: Any, wallet: Any, tx: Any, token: str, **values: Any) -> Position:
    return Position(id=uuid.uuid4(), agent_id=agent.id, wallet_address=wallet.wallet_address,
                    token_address=token, purchase_transaction_id=tx.id,
                    purchase_price=D("0.001"), purchase_amount=D(1000),
                    total_invested_sol=D(1), created_at=NOW, updated_at=NOW, **values)


@pytest.fixture
def fleet_data(uow: SqlAlchemyUnitOfWork, redis_client: redis.Redis) -> dict[str, Any]:
    """alpha: 10 SOL in, a position on a mint with no symbol, a trailing stop at +24.95 %,
    take profit sold down to 400 with a moon bag of 100, 0.5 SOL realized; beta: a WIF
    position with its initial −20 % stop. The cached price of alpha's token doubled."""
    with uow:
        alpha, alpha_wallet = make_agent(uow, "alpha")
        beta, beta_wallet = make_agent(uow, "beta")
        rows = {}
        for agent, wallet, token in ((alpha, alpha_wallet, MINT), (beta, beta_wallet, WIF)):
            deposit, buy = deposit_tx(agent, wallet, D(10)), buy_tx(agent, wallet, D(1), D(1000))
            buy = buy.__class__(**{**buy.__dict__, "output_mint": token})
            for tx in (deposit, buy):
                uow.transactions.add(tx)
                uow.balances.apply(agent.id, tx, NOW)
            rows[agent.name] = (agent, wallet, buy, token)
        a, aw, atx, _ = rows["alpha"]
        uow.positions.add(position(a, aw, atx, MINT, remaining_amount=D(400),
                                   current_stop_loss_percentage=D("24.95"),
                                   peak_price=D("0.0025"), take_profit_levels_hit=2,
                                   total_take_profit_levels=2, moon_bag_activated=True,
                                   moon_bag_amount=D(100), realized_profit_sol=D("0.5")))
        b, bw, btx, _ = rows["beta"]
        uow.positions.add(position(b, bw, btx, WIF, token_symbol="WIF",
                                   current_stop_loss_percentage=D("-20")))
        uow.commit()
    Cache(redis_client).write_prices([PriceQuote(MINT, D("0.002"), NOW, "static"),
                                      PriceQuote(WIF, D("0.001"), NOW, "static")])
    return {"alpha": alpha, "beta": beta}


def test_the_live_view_names_agents_labels_stops_and_moon_bags(
        fleet_data: dict[str, Any], database_url: str, redis_url: str) -> None:
    container = Container(Settings(_env_file=None),  # type: ignore[call-arg]
                          ServiceUrls(database_url, redis_url, redis_url, False))
    out = io.StringIO()
    try:
        Console(file=out, width=80, color_system=None).print(render(container, "header"))
    finally:
        container.dispose()
    lines = out.getvalue().splitlines()
    view = "\n".join(lines)
    assert max(len(line) for line in lines) <= 80
    assert "total PnL" in view and "None" not in view and "E-" not in view
    [alpha_row] = [line for line in lines if line.split()[:2] == ["alpha", "simulation"]]
    assert len(lines) < 40  # compact: the whole view fits a terminal
    # SOL 10 − 1 − fees 0.000105; realized 0.5; unrealized 400 × 0.002 − 0.4 = 0.4; total 0.9
    assert alpha_row.split()[2:] == ["8.9999", "1", "0.5", "0.4", "0.9"]
    [alpha_position] = [line for line in lines if line.split()[0] == "alpha" and "%" in line]
    assert alpha_position.split() == ["alpha", "7GCihgDB…", "400", "1", "+24.95%", "trailing",
                                      "2/2", "100"]  # no symbol: the mint, cut short
    [beta_position] = [line for line in lines if line.split()[0] == "beta" and "%" in line]
    assert "-20%" in beta_position and "WIF" in beta_position and "trailing" not in beta_position
    assert " ".join(LEGEND.split()[:4]) in " ".join(view.split())


def test_positions_name_the_agent_fit_80_columns_and_close_by_id_prefix(
        fleet_data: dict[str, Any], cli: CliRunner, clean_db: Engine,  # noqa: F811
        redis_client: redis.Redis) -> None:
    listed = cli.invoke(app, ["positions"])
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" in listed.stdout
    assert {"alpha", "beta", "WIF", "24.95", "-20"} <= set(listed.stdout.split())
    as_json = json.loads(cli.invoke(app, ["positions", "--agent", "alpha", "--json"]).stdout)
    [row] = as_json
    assert row["agent"] == "alpha" and row["holding"] == "400.000000000000000000"
    assert row["purchase_price"] == "0.001000000000000000"
    wide = cli.invoke(app, ["positions", "--wide"]).stdout
    assert MINT in wide and row["id"] in wide
    StaticPriceFeed(redis_client, SystemClock()).set_price(WIF, "0.0012")
    [beta_id] = [r["id"] for r in json.loads(cli.invoke(app, ["positions", "--agent", "beta",
                                                              "--json"]).stdout)]
    closed = cli.invoke(app, ["positions", "close", beta_id[:8]])
    assert closed.exit_code == 0, closed.output
    assert f"closed {beta_id}" in closed.stdout
    with clean_db.connect() as conn:
        reasons = conn.execute(text("SELECT close_reason FROM agent_historical_swaps")).all()
    assert [r[0] for r in reasons] == ["manual"]
    unknown = cli.invoke(app, ["positions", "close", "ffffffff"])
    assert unknown.exit_code == 2 and "no open position id starts with" in unknown.stderr


def test_balances_and_executions_name_the_agent(fleet_data: dict[str, Any],
                                                cli: CliRunner) -> None:  # noqa: F811
    shown = cli.invoke(app, ["balances", "--agent", "beta"])
    assert shown.exit_code == 0, shown.output
    assert "beta" in shown.stdout and "alpha" not in shown.stdout
    assert "8.9999" in shown.stdout and "0E-" not in shown.stdout
    as_csv = cli.invoke(app, ["balances", "--csv"]).stdout.splitlines()
    assert as_csv[0].startswith("agent_id,agent,")
    assert any(",beta," in line and ",8.99989500" in line for line in as_csv[1:])
