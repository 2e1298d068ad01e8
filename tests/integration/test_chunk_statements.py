"""A chunk of agents costs a fixed number of statements (docs/architecture.md: set-based
opens): executing a signal for 30 agents runs about as many statements as for 5. A check made
per agent instead of per chunk (as the order rule's look at existing executions once was,
which made a 1,000-agent fan-out 2.5× slower) fails here before `make bench` shows it."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, event

from domain.ports import PriceQuote
from domain.signals import Signal
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.fakes import FakePriceFeed
from tests.integration.test_signal_order import NOW, _agents, _deps
from workers.handlers.signals.execute import execute_signal

Uow = Callable[[], SqlAlchemyUnitOfWork]


def _statements(engine: Engine, uow: Uow, agents: list[uuid.UUID], n: int) -> int:
    """Statements run to execute a new buy (a token of its own) for ``agents``."""
    token, at = f"So1111111111111111111111111111111111111111{n}", NOW + timedelta(seconds=n)
    with uow() as u:
        [(signal_id, _)] = u.signals.add_many(
            [Signal(token, "buy", 90, idempotency_key=f"chunk-{n}")], at)
        u.commit()
    deps = dataclasses.replace(_deps(uow, at), prices=FakePriceFeed(
        {token: PriceQuote(token, Decimal("0.001"), at, "test", None)}))
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        outcomes = execute_signal(signal_id, agents, deps)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert {o.status for o in outcomes} == {"EXECUTED"}
    return len(seen)


def test_a_chunk_of_30_agents_runs_no_more_statements_than_one_of_5(
        uow_factory: Uow, clean_db: Engine) -> None:
    agents = _agents(uow_factory, 40)  # each run's agents are new to trading, alike
    _statements(clean_db, uow_factory, agents[:5], 0)  # warm: first statements of a session
    small = _statements(clean_db, uow_factory, agents[5:10], 1)
    large = _statements(clean_db, uow_factory, agents[10:], 2)
    # Equal up to a batch the driver sends its own way; a statement per agent adds 25.
    assert large <= small + 2, f"{small} statements for 5 agents, {large} for 30"
