"""``fleet agents config set AGENT_ID FILE`` through the CLI on real PostgreSQL: a bad file is
refused listing every error and changes nothing; a good one replaces the stored config, and
the old ``config AGENT_ID --set FILE`` form keeps working."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.integration.cli_support import cli
from tests.integration.ledger_support import funded_agent
from tests.integration.test_operator_actions import checked, run

__all__ = ["checked", "cli"]


def test_config_set_lists_every_error_then_sets_a_valid_file(
        checked: Engine, uow: SqlAlchemyUnitOfWork, cli: CliRunner, tmp_path: Path) -> None:
    agent, _ = funded_agent(uow, "alpha", "1")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"stopLoss": {"defaultPercentage": "abc"},
                               "dca": {"mode": "reckless"}}))
    code, _out, err = run(cli, "agents", "config", "set", str(agent.id), str(bad))
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 2, err
    assert any("stopLoss.defaultPercentage" in e for e in errors)
    assert any("dca.mode" in e for e in errors)
    with uow:
        assert uow.agents.get_config(agent.id) is None  # nothing changed

    good = tmp_path / "good.json"
    good.write_text(json.dumps({"stopLoss": {"defaultPercentage": "-20"}}))
    code, out, err = run(cli, "agents", "config", "set", str(agent.id), str(good))
    assert code == 0, err
    assert 'stopLoss.defaultPercentage: "-32" → "-20"' in out
    with uow:
        assert uow.agents.get_config(agent.id) == {"stopLoss": {"defaultPercentage": "-20"}}

    good.write_text(json.dumps({"stopLoss": {"defaultPercentage": "-25"}}))
    assert run(cli, "agents", "config", str(agent.id), "--set", str(good))[0] == 0
    with uow:
        assert uow.agents.get_config(agent.id) == {"stopLoss": {"defaultPercentage": "-25"}}

    code, _out, err = run(cli, "agents", "config", "set", "not-an-id", str(good))
    assert code == 2 and "agent_id: 'not-an-id' is not an agent id" in err
    code, _out, err = run(cli, "agents", "config", "set", str(agent.id))
    assert code == 2 and "usage: fleet agents config set AGENT_ID FILE" in err
