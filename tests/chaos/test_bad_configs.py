"""Scenario 9, configs: hypothesis-generated agent trading configs (tests/chaos/config_cases.py)
through ``parse_config`` (10k cases) and through the operator path that stores them (``fleet
agents create --config`` / ``fleet agents config ID --set FILE``: the CLI's JSON reading and
checking, then the agent use cases, on the real database). Each is accepted whole (obsolete
keys dropped with a warning) or refused with a typed error naming the field
(tests/chaos/config_oracles.py) — never another exception, never a partial row. The smallest
failing cases found are pinned at the end."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from domain.config import ParsedConfig, TradingConfig, parse_config
from domain.errors import InvalidConfig, InvalidInput
from domain.ports import UnitOfWork
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.chaos.config_cases import BEYOND_DECIMAL, SLOW_OK, Case, Raw, configs
from tests.chaos.config_oracles import (
    check_acceptance,
    check_refusal,
    check_warnings,
    noted,
    without_obsolete,
)
from tests.chaos.test_bad_input import Clock, examples
from tests.unit.domain.bound_cases import CONFIGS, WORLDS, BoundCase, World, check_bound_case
from workers.cli.agents import _read_config, config_file
from workers.handlers.operators.agents import NewAgent, create_agent, set_config
from workers.handlers.shared.configs import trading_config

# --- 1. the parser ---------------------------------------------------------------------------

@examples(1_000, 10_000)
def test_the_config_parser_accepts_whole_or_names_every_bad_field(examples: int) -> None:
    seen = {"accepted": 0, "rejected": 0}

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=SLOW_OK)
    @given(case=configs())
    def run(case: Case) -> None:
        with noted(case):
            try:
                parsed = parse_config(case.config)
            except InvalidConfig as exc:
                event("rejected")
                seen["rejected"] += 1
                check_refusal(exc, case)
                return
            event("accepted")
            seen["accepted"] += 1
            check_acceptance(parsed.config, case)
            check_warnings(parsed, case)

    run()
    assert min(seen.values()) >= sum(seen.values()) // 10, seen  # both sides well exercised


# --- 1b. configs at and past every bound, each accepted one through every rule -------------
# (issue 21; tests/unit/domain/test_config_bounds.py runs the same property bounded)

@pytest.mark.chaos_long
@pytest.mark.timeout(3600)
def test_10k_configs_at_and_past_every_bound_through_every_rule() -> None:
    seen = {"accepted": 0, "refused": 0}

    @settings(max_examples=10_000, deadline=None, database=None, suppress_health_check=SLOW_OK)
    @given(case=CONFIGS, worlds=WORLDS)
    def run(case: BoundCase, worlds: list[World]) -> None:
        seen["accepted" if check_bound_case(case, worlds) is not None else "refused"] += 1

    run()
    assert min(seen.values()) >= sum(seen.values()) // 5, seen  # both sides well exercised


# --- 2. the operator path on the real database ----------------------------------------------


def to_json(value: Any) -> str:
    """The config as an operator's JSON file: Decimals and Raw as bare number literals."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {to_json(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(to_json, value)) + "]"
    return json.dumps(value)


def canon(value: Any) -> Any:
    """JSON as PostgreSQL's JSONB gives it back: numbers compared as decimals."""
    if isinstance(value, dict):
        return {k: canon(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canon(v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


_STATE = text("""
    SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM agents) AS agents,
           (SELECT count(*) FROM agent_wallets) AS wallets,
           (SELECT count(*) FROM agent_transactions) AS transactions,
           (SELECT count(*) FROM agent_balances) AS balances,
           (SELECT trading_config FROM agents WHERE id = :id) AS config,
           (SELECT updated_at FROM agents WHERE id = :id) AS updated_at""")


@dataclass
class Operator:
    engine: Engine
    uow: Callable[[], UnitOfWork]
    agent_id: uuid.UUID
    file: Path
    names: Iterator[int] = field(default_factory=itertools.count)

    def state(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return dict(conn.execute(_STATE, {"id": self.agent_id}).one()._mapping)

    def stored(self, agent_id: uuid.UUID) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT trading_config FROM agents WHERE id = :id"),
                                {"id": agent_id}).scalar_one()


@pytest.fixture
def operator(clean_db: Engine, tmp_path: Path) -> Operator:
    factory = make_session_factory(clean_db)

    def uow() -> UnitOfWork:
        return cast("UnitOfWork", SqlAlchemyUnitOfWork(factory))

    agent_id = create_agent(uow(), Clock(), NewAgent(name="configured", deposit_sol=Decimal(1)))
    return Operator(clean_db, uow, agent_id, tmp_path / "config.json")


def store_one(operator: Operator, case: Case, create: bool) -> str:
    """Write the config as an operator's file and run `fleet agents create --config FILE`
    (``create``) or `fleet agents config ID --set FILE`: the CLI's reading and checking,
    then the use case on the real database. Check what is stored, or that nothing is."""
    operator.file.write_text(to_json(case.config), encoding="utf-8")
    before = operator.state()
    try:
        sent = _read_config(operator.file)
    except InvalidInput as exc:  # not JSON the CLI can read: refused before anything runs
        assert exc.field == "config" and exc.reason, exc
        assert operator.state() == before
        return "unreadable"
    assert sent is not None
    try:
        expected: ParsedConfig | InvalidConfig = parse_config(sent)
    except InvalidConfig as exc:
        expected = exc
    try:
        kept = config_file(operator.file)
        if create:
            name = f"cfg-{next(operator.names):06d}"
            new = NewAgent(name=name, deposit_sol=Decimal("0.5"), config=kept)
            agent_id = create_agent(operator.uow(), Clock(), new)
        else:
            agent_id = operator.agent_id
            set_config(operator.uow(), agent_id, kept)
    except InvalidConfig as exc:
        assert isinstance(expected, InvalidConfig), (expected, exc)
        assert exc.errors == expected.errors and exc.errors
        assert operator.state() == before  # no agent, wallet or deposit; config unchanged
        return "rejected"
    except InvalidInput as exc:  # a valid config the database cannot hold, refused as such
        assert exc.field and exc.reason, exc
        assert operator.state() == before
        return "rejected"
    assert isinstance(expected, ParsedConfig), expected
    stored = operator.stored(agent_id)
    # stored as sent (a partial stays partial), less the obsolete keys it drops
    assert canon(stored) == canon(without_obsolete(sent))
    assert trading_config(stored) == expected.config == TradingConfig.from_dict(stored)
    after = operator.state()
    grown = {k: after[k] - before[k]
             for k in ("users", "agents", "wallets", "transactions", "balances")}
    assert grown == ({"users": 0, "agents": 1, "wallets": 1, "transactions": 1,
                      "balances": 1} if create else dict.fromkeys(grown, 0))
    if create:
        assert after["config"] == before["config"]
    return "accepted"


@examples(150, 1_000)
def test_the_operator_stores_a_whole_config_or_nothing(operator: Operator, examples: int) -> None:
    seen = {"accepted": 0, "rejected": 0, "unreadable": 0}

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=SLOW_OK)
    @given(case=configs().filter(lambda c: isinstance(c.config, dict)), create=st.booleans())
    def run(case: Case, create: bool) -> None:
        with noted(case, create):
            outcome = store_one(operator, case, create)
        event(outcome)
        seen[outcome] += 1

    run()
    assert min(seen["accepted"], seen["rejected"]) >= sum(seen.values()) // 10, seen



# --- 3. the smallest failing cases hypothesis found, pinned ---------------------------------
# Each crashed before the fix (caebfc2); each must end in a typed error naming the field, or
# a whole acceptance — never another exception.


@pytest.mark.parametrize(("section", "key", "value"), [
    # decimal.InvalidOperation out of to_decimal (Decimal(text) past the exponent limit)
    ("purchaseLimits", "minimumAgentBalance", BEYOND_DECIMAL),
    # accepted (the magnitude check skips zero), then to_dict: MemoryError
    ("stopLoss", "defaultPercentage", "0e-999999999999999999"),
])
def test_minimal_configs(section: str, key: str, value: str) -> None:
    case = Case({section: {key: value}}, [(section, key)])
    try:
        parsed = TradingConfig.from_dict(case.config)
    except InvalidConfig as exc:
        check_refusal(exc, case)
        return
    check_acceptance(parsed, case)


def test_minimal_operator_file_with_a_number_past_decimal(tmp_path: Path) -> None:
    """`fleet agents create --config FILE`: decimal.InvalidOperation out of the CLI's JSON
    reading (json.loads(parse_float=Decimal) catches only OSError and ValueError)."""
    file = tmp_path / "config.json"
    file.write_text('{"purchaseLimits": {"minimumAgentBalance": ' + BEYOND_DECIMAL + "}}")
    try:
        sent = _read_config(file)
    except InvalidInput as exc:
        assert exc.field == "config"
        return
    with pytest.raises(InvalidConfig):
        TradingConfig.from_dict(sent)


@pytest.mark.parametrize("create", [True, False])
@pytest.mark.parametrize("kind", ["a\x00b", "\ud800"])
def test_minimal_stored_config_with_unstorable_text(operator: Operator, kind: str,
                                                    create: bool) -> None:
    """Accepted by from_dict, then sqlalchemy DataError (PostgreSQL's JSONB refuses NUL and
    lone surrogates) out of create_agent / set_config instead of a typed refusal."""
    case = Case({"signals": {"allowedSignalTypes": [kind]}},
                [("signals", "allowedSignalTypes")])
    with noted(case, create):
        store_one(operator, case, create)
