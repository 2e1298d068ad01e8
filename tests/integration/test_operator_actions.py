"""The operator's daily actions through the ``fleet`` CLI on real PostgreSQL and Redis:
deposit, withdraw, rename, archive, the effective config, and the trades / transactions
listings. After each, the ledger, balance and money invariants hold."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal as D

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from domain.config import TradingConfig
from domain.ledger import SOL_MINT
from persistence import models as m
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.integration.cli_support import cli
from tests.integration.ledger_support import (
    BONK,
    T0,
    WIF,
    close_position,
    funded_agent,
    open_position,
)
from tests.invariants import assert_ledger_invariant, assert_money_conserved
from workers.cli import app

__all__ = ["cli"]


@pytest.fixture
def checked(clean_db: Engine) -> Iterator[Engine]:
    """The database; the ledger and money invariants are asserted after the test."""
    yield clean_db
    assert_ledger_invariant(clean_db)
    assert_money_conserved(clean_db)


def sol_balance(engine: Engine, agent_id: uuid.UUID) -> D:
    with engine.connect() as conn:
        return conn.execute(select(m.AgentBalance.balance).where(
            m.AgentBalance.agent_id == agent_id,
            m.AgentBalance.token_address == SOL_MINT)).scalar_one()


def ledger_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(m.AgentTransaction))
                   .scalar_one())


def run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


# --- deposit / withdraw -----------------------------------------------------------------

def test_deposit_then_withdraw_are_ledger_entries(checked: Engine, uow: SqlAlchemyUnitOfWork,
                                                  cli: CliRunner) -> None:
    agent, wallet = funded_agent(uow, "alpha", "1")
    code, out, err = run(cli, "agents", "deposit", str(agent.id), "2.5")
    assert code == 0, err
    assert "deposited 2.5 SOL" in out and "balance 3.5 SOL" in out
    assert sol_balance(checked, agent.id) == D("3.5")
    code, out, err = run(cli, "agents", "withdraw", str(agent.id), "3.5")
    assert code == 0, err
    assert sol_balance(checked, agent.id) == D(0)  # down to exactly zero is allowed
    with checked.connect() as conn:
        rows = conn.execute(select(m.AgentTransaction.transaction_type,
                                   m.AgentTransaction.input_amount,
                                   m.AgentTransaction.output_amount,
                                   m.AgentTransaction.wallet_address)
                            .order_by(m.AgentTransaction.transaction_time)).all()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("DEPOSIT", None, D(1)), ("DEPOSIT", None, D("2.5")), ("WITHDRAWAL", D("3.5"), None)]
    assert {r[3] for r in rows} == {wallet.wallet_address}


def test_a_withdrawal_above_the_balance_is_refused_naming_what_is_available(
        checked: Engine, uow: SqlAlchemyUnitOfWork, cli: CliRunner) -> None:
    agent, _ = funded_agent(uow, "alpha", "2")
    open_position(uow, agent, _, BONK, "BONK", "0.75", "1000")
    before = ledger_rows(checked)
    code, _out, err = run(cli, "agents", "withdraw", str(agent.id), "1.25000001")
    assert code == 2
    assert err.count("\n") == 1  # one line, no traceback
    assert err == "error: amount: only 1.25 SOL is available (asked 1.25000001)\n"
    assert ledger_rows(checked) == before and sol_balance(checked, agent.id) == D("1.25")


@pytest.mark.parametrize(("amount", "why"), [
    ("0", "more than 0"), ("-1", "more than 0"), ("0.000000001", "8 decimals"),
    ("abc", "decimal number"), ("1e40", "at most"), ("NaN", "decimal number"),
])
def test_bad_amounts_are_refused_and_change_nothing(checked: Engine, uow: SqlAlchemyUnitOfWork,
                                                    cli: CliRunner, amount: str,
                                                    why: str) -> None:
    agent, _ = funded_agent(uow, "alpha", "2")
    for verb in ("deposit", "withdraw"):
        code, _out, err = run(cli, "agents", verb, str(agent.id), "--", amount)
        assert code == 2, err
        assert "error: amount:" in err and why in err
    assert ledger_rows(checked) == 1 and sol_balance(checked, agent.id) == D(2)


def test_unknown_archived_and_live_agents_are_refused(checked: Engine,
                                                      uow: SqlAlchemyUnitOfWork,
                                                      cli: CliRunner) -> None:
    code, _out, err = run(cli, "agents", "deposit", str(uuid.uuid4()), "1")
    assert code == 2 and "error: agent_id: no agent" in err
    live, _ = funded_agent(uow, "livey", "1")
    with checked.begin() as conn:
        conn.execute(m.Agent.__table__.update().where(m.Agent.id == live.id)
                     .values(trading_mode="live"))
    code, _out, err = run(cli, "agents", "deposit", str(live.id), "1")
    assert code == 2 and "trades live" in err
    code, _out, err = run(cli, "agents", "withdraw", str(live.id), "1")
    assert code == 0, err  # paper SOL can always be taken out of the simulation wallet
    assert ledger_rows(checked) == 2


# --- rename / archive -------------------------------------------------------------------

def test_rename_checks_the_name_and_its_uniqueness(checked: Engine, uow: SqlAlchemyUnitOfWork,
                                                   cli: CliRunner) -> None:
    agent, _ = funded_agent(uow, "alpha", "1", email="op@example.com")
    funded_agent(uow, "beta", "1", email="op@example.com")
    other_user, _ = funded_agent(uow, "gamma", "1", email="else@example.com")
    assert run(cli, "agents", "rename", str(agent.id), "alpha-2")[0] == 0
    code, _out, err = run(cli, "agents", "rename", str(agent.id), "beta")
    assert code == 2 and "already has an agent named 'beta'" in err
    assert run(cli, "agents", "rename", str(other_user.id), "beta")[0] == 0  # another user
    code, _out, err = run(cli, "agents", "rename", str(agent.id), " x")
    assert code == 2 and "error: name:" in err
    with checked.connect() as conn:
        names = conn.execute(select(m.Agent.name).order_by(m.Agent.name)).scalars().all()
    assert names == ["alpha-2", "beta", "beta"]


def test_archive_is_refused_while_positions_are_open(checked: Engine,
                                                     uow: SqlAlchemyUnitOfWork,
                                                     cli: CliRunner) -> None:
    agent, wallet = funded_agent(uow, "alpha", "5")
    held = open_position(uow, agent, wallet, BONK, "BONK", "1", "1000")
    code, _out, err = run(cli, "agents", "archive", str(agent.id))
    assert code == 2 and "1 open position(s) (BONK)" in err and "fleet positions close" in err
    with uow:
        assert uow.agents.get(agent.id).archived_at is None
        assert [a.id for a, _ in uow.agents.candidates(user_id=None)] == [agent.id]
    close_position(uow, held, "1.2", "manual")
    code, out, err = run(cli, "agents", "archive", str(agent.id))
    assert code == 0, err
    assert "archived" in out
    with uow:
        assert uow.agents.get(agent.id).archived_at is not None
        assert uow.agents.candidates(user_id=None) == []  # no signal reaches it any more
    assert run(cli, "agents", "archive", str(agent.id))[0] == 0  # again: nothing changes
    code, _out, err = run(cli, "agents", "deposit", str(agent.id), "1")
    assert code == 2 and "archived" in err
    assert run(cli, "agents", "withdraw", str(agent.id), "5.2")[0] == 0  # money can leave


# --- the effective config -------------------------------------------------------------

def test_config_shows_the_defaults_for_an_agent_on_default_rules(
        checked: Engine, uow: SqlAlchemyUnitOfWork, cli: CliRunner) -> None:
    agent, _ = funded_agent(uow, "alpha", "1")
    code, out, err = run(cli, "agents", "config", str(agent.id), "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["stored"] is None and shown["differences"] == []
    assert shown["effective"] == TradingConfig.default().to_dict()
    code, out, _ = run(cli, "agents", "config", str(agent.id))
    assert "all rules are the defaults" in out and '"stopLoss"' in out


def test_config_lists_what_differs_from_the_defaults(checked: Engine, uow: SqlAlchemyUnitOfWork,
                                                     cli: CliRunner, tmp_path: object) -> None:
    agent, _ = funded_agent(uow, "alpha", "1")
    with uow:
        uow.agents.set_config(agent.id, {"stopLoss": {"defaultPercentage": "-20"},
                                         "purchaseLimits": {"maxPurchasePerToken": "2.00"},
                                         "signals": {"tokenList": [BONK]}})
        uow.commit()
    code, out, err = run(cli, "agents", "config", str(agent.id), "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["effective"]["stopLoss"]["defaultPercentage"] == "-20"
    assert shown["effective"]["stopLoss"]["mode"] == "fixed"  # merged over the defaults
    assert [(d["path"], d["default"], d["effective"]) for d in shown["differences"]] == [
        ("signals.tokenList", [], [BONK]), ("stopLoss.defaultPercentage", "-32", "-20")]
    code, out, _ = run(cli, "agents", "config", str(agent.id))
    assert "2 rule(s) differ" in out and 'stopLoss.defaultPercentage: "-32" → "-20"' in out


# --- trades and transactions ----------------------------------------------------------

@pytest.fixture
def history(uow: SqlAlchemyUnitOfWork) -> dict[str, uuid.UUID]:
    from datetime import timedelta

    alpha, wa = funded_agent(uow, "alpha", "10")
    beta, wb = funded_agent(uow, "beta", "10")
    p1 = open_position(uow, alpha, wa, BONK, "BONK", "1", "1000", at=T0 + timedelta(hours=1))
    close_position(uow, p1, "1.5", "take_profit", at=T0 + timedelta(hours=2))
    p2 = open_position(uow, alpha, wa, WIF, "WIF", "2", "10", at=T0 + timedelta(hours=3))
    close_position(uow, p2, "1.2", "stop_loss", at=T0 + timedelta(hours=4))
    p3 = open_position(uow, beta, wb, BONK, "BONK", "1", "900", at=T0 + timedelta(hours=5))
    close_position(uow, p3, "0.9", "signal", at=T0 + timedelta(hours=6))
    open_position(uow, beta, wb, WIF, "WIF", "1", "5", at=T0 + timedelta(hours=7))
    return {"alpha": alpha.id, "beta": beta.id}


def test_trades_filter_by_agent_token_reason_and_time(checked: Engine, cli: CliRunner,
                                                      history: dict[str, uuid.UUID]) -> None:
    def trades(*args: str) -> list[tuple[str, str, str]]:
        code, out, err = run(cli, "trades", "--json", *args)
        assert code == 0, err
        return [(r["agent_name"], r["token_symbol"], r["close_reason"]) for r in json.loads(out)]

    assert trades() == [("beta", "BONK", "signal"), ("alpha", "WIF", "stop_loss"),
                        ("alpha", "BONK", "take_profit")]  # newest sale first
    assert trades("--agent", str(history["alpha"])) == [("alpha", "WIF", "stop_loss"),
                                                        ("alpha", "BONK", "take_profit")]
    assert trades("--token", "bonk") == [("beta", "BONK", "signal"),
                                         ("alpha", "BONK", "take_profit")]
    assert trades("--token", WIF) == [("alpha", "WIF", "stop_loss")]
    assert trades("--reason", "stop_loss") == [("alpha", "WIF", "stop_loss")]
    assert trades("--since", "2026-11-22T15:00", "--until", "2026-11-22T17:00Z") == [
        ("alpha", "WIF", "stop_loss")]
    assert trades("--limit", "1") == [("beta", "BONK", "signal")]
    code, _out, err = run(cli, "trades", "--reason", "profit")
    assert code == 2 and "error: reason: must be one of stop_loss" in err
    code, _out, err = run(cli, "trades", "--since", "yesterday")
    assert code == 2 and "error: since:" in err


def test_trades_csv_keeps_full_precision(checked: Engine, cli: CliRunner,
                                         history: dict[str, uuid.UUID]) -> None:
    code, out, err = run(cli, "trades", "--csv", "--reason", "take_profit")
    assert code == 0, err
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert row["profit_loss_sol"] == "0.50000000" and row["token_symbol"] == "BONK"
    assert row["sale_time"] == "2026-11-22T14:00:00+00:00"
    assert D(row["purchase_price"]) == D("0.001")


def test_transactions_have_a_reason_and_filters(checked: Engine, cli: CliRunner,
                                                history: dict[str, uuid.UUID]) -> None:
    def reasons(*args: str) -> list[str]:
        code, out, err = run(cli, "transactions", "--json", "--limit", "0", *args)
        assert code == 0, err
        return [r["reason"] for r in json.loads(out)]

    assert reasons("--agent", str(history["alpha"])) == [
        "stop_loss", "buy", "take_profit", "buy", "deposit"]
    assert reasons("--token", "WIF") == ["buy", "stop_loss", "buy"]
    assert reasons("--reason", "deposit") == ["deposit", "deposit"]
    code, out, err = run(cli, "transactions", "--csv", "--reason", "signal")
    assert code == 0, err
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert row["input_symbol"] == "BONK" and row["output_amount"] == "0.900000000000000000"


# --- write-off ------------------------------------------------------------------------

def test_write_off_closes_at_zero_proceeds_through_the_cli(checked: Engine,
                                                         uow: SqlAlchemyUnitOfWork,
                                                         cli: CliRunner) -> None:
    agent, wallet = funded_agent(uow, "alpha", "5")
    held = open_position(uow, agent, wallet, BONK, "BONK", "1", "1000")
    before = sol_balance(checked, agent.id)
    code, out, err = run(cli, "positions", "write-off", str(held.id))  # BONK has no price
    assert code == 0, err
    assert "written off" in out and "PnL -1 SOL" in out  # for people: no trailing zeros
    with checked.connect() as conn:
        closed = conn.execute(select(m.AgentHistoricalSwap)).one()
        burn = conn.execute(select(m.AgentTransaction).where(
            m.AgentTransaction.transaction_type == "BURN")).one()
    assert (closed.close_reason, closed.profit_loss_sol) == ("burn", D(-1))
    assert (burn.input_mint, burn.input_amount, burn.output_amount) == (BONK, D(1000), None)
    assert sol_balance(checked, agent.id) == before  # nothing sold, nothing sent
    code, out, _err = run(cli, "positions", "write-off", str(held.id))
    assert code == 1 and "no_position" in out
