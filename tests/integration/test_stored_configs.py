"""A stored config no JSON reader can decode is that agent's typed ``InvalidConfig`` value in
every read of agents' configs, never an exception for the whole statement (issue 21)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import Engine, text

from domain.errors import InvalidConfig
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.e2e.test_pipeline import Clock
from workers.handlers.operators.agents import NewAgent, create_agent
from workers.handlers.shared.configs import trading_config, trading_config_or_error

LONG_NUMBER = '{"staleTrade": {"minHoldTimeMinutes": 1' + "0" * 5000 + "}}"
DEEP = "[" * 3000 + "]" * 3000


def _agent(engine: Engine, name: str, stored: str | None) -> uuid.UUID:
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine))
    agent_id = create_agent(uow, Clock(), NewAgent(name=name, deposit_sol=Decimal(1)))
    if stored is not None:
        with engine.begin() as conn:
            conn.execute(text("UPDATE agents SET trading_config = CAST(:c AS jsonb) "
                              "WHERE id = :id"), {"c": stored, "id": agent_id})
    return agent_id


def errors(value: object) -> list[tuple[str, str]]:
    assert isinstance(value, InvalidConfig), value
    return value.errors


def test_every_read_of_configs_gives_the_unreadable_one_as_a_value(clean_db: Engine) -> None:
    valid = _agent(clean_db, "valid", '{"signals": {"minScore": 50}}')
    default = _agent(clean_db, "default", None)
    long_number = _agent(clean_db, "long-number", LONG_NUMBER)
    deep = _agent(clean_db, "deep", '{"stopLoss": ' + DEEP + "}")
    uow = SqlAlchemyUnitOfWork(make_session_factory(clean_db))
    with uow:
        many = uow.agents.configs([valid, default, long_number, deep])
        candidates = dict((a.id, c) for a, c in uow.agents.candidates(user_id=None))
        locked = {i: uow.agents.lock_with_config(i)[1] for i in (valid, long_number, deep)}
        bulk = {i: c for i, (_, c) in uow.bulk.lock_agents([valid, long_number]).items()}
        one = uow.agents.get_config(long_number)
    for read in (many, candidates):
        assert read[valid] == {"signals": {"minScore": 50}} and read[default] is None
    for read in (many, candidates, locked, bulk, {long_number: one}):
        assert errors(read[long_number]) == [
            ("$", "the stored config cannot be read (a number too long)")]
    for read in (many, candidates, locked):
        assert errors(read[deep]) == [("$", "the stored config cannot be read (nested too deep)")]
    assert bulk[valid] == {"signals": {"minScore": 50}}
    assert trading_config(many[valid]).signals.min_score == 50
    assert isinstance(trading_config_or_error(many[long_number]), InvalidConfig)
