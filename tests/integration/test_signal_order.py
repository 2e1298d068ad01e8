"""Order per agent and token (docs/rules.md §3) on the real database: an exit racing its
entry waits for it and closes what it opened; an entry received after an exit waits for it;
a turn that never comes FAILs with a reason once the signal waited its longest. The fan-out
and execute handlers the tasks call, with the follow-up enqueues recorded."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, select

from domain.ports import PriceQuote
from domain.signals import Signal
from persistence import models as m
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.fakes import FakePriceFeed, FixedClock, RecordingQueue, db_deps
from workers.handlers.operators.agents import NewAgent, create_agent
from workers.handlers.shared.deps import Deps
from workers.handlers.signals.agent import WAIT
from workers.handlers.signals.execute import execute_signal
from workers.handlers.signals.fan_out import fan_out

TOKEN = "So11111111111111111111111111111111111111113"
NOW = datetime(2025, 1, 2, 12, 0, tzinfo=UTC)
FIXED = {"positionCalculator": {"randomization": {"enabled": False}},
         "purchaseLimits": {"maxPurchasePerToken": "1"}}
Uow = Callable[[], SqlAlchemyUnitOfWork]


def _deps(uow: Uow, now: datetime = NOW) -> Deps:
    quote = PriceQuote(TOKEN, Decimal("0.001"), now, "test", None)
    return dataclasses.replace(db_deps(uow, now), clock=FixedClock(now),
                               prices=FakePriceFeed({TOKEN: quote}), queue=RecordingQueue())


def _agents(uow: Uow, n: int) -> list[uuid.UUID]:
    clock = FixedClock(NOW - timedelta(hours=1))
    ids = []
    for i in range(n):
        agent_id = create_agent(uow(), clock, NewAgent(name=f"agent-{i}", mode="simulation",
                                                        deposit_sol=Decimal("10"),
                                                        config=FIXED))
        ids.append(agent_id)
    return sorted(ids)


def _signals(uow: Uow, *kinds: str, at: datetime = NOW) -> list[int]:
    """Stored in one batch, as the ingestors do: one ``received_at``, ids in order."""
    with uow() as u:
        ids = [i for i, _ in u.signals.add_many(
            [Signal(TOKEN, kind, 90, idempotency_key=f"{kind}-{at}-{n}")
             for n, kind in enumerate(kinds)], at)]
        u.commit()
    return ids


def _status(engine: Engine, signal_id: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(m.TradingSignal.status)
                                .where(m.TradingSignal.id == signal_id)).scalar_one())


def _executions(engine: Engine, signal_id: int) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(select(m.SignalExecution.status, m.SignalExecution.action,
                                   m.SignalExecution.reason)
                            .where(m.SignalExecution.signal_id == signal_id))
        return sorted((r.status, r.action, r.reason) for r in rows)


def _open_positions(engine: Engine) -> list[m.AgentPosition]:
    with engine.connect() as conn:
        return list(conn.execute(select(m.AgentPosition)))


def test_an_exit_fanned_out_before_its_entry_waits_and_closes_what_it_opened(
        uow_factory: Uow, clean_db: Engine) -> None:
    agents = _agents(uow_factory, 3)
    buy, sell = _signals(uow_factory, "buy", "sell")
    deps = _deps(uow_factory)
    # The race: the sell's fan-out runs first. It reaches the agents the buy may still open
    # positions for (none holds the token yet), and each of them waits.
    assert fan_out(sell, deps) == 3
    assert _executions(clean_db, sell) == []
    assert _status(clean_db, sell) == "dispatched"
    [(retried, waiting)] = deps.queue.executes
    assert (retried, sorted(waiting)) == (sell, agents)
    assert deps.queue.attempts == [(1, 0.5)]
    assert fan_out(buy, deps) == 3
    assert len(_open_positions(clean_db)) == 3
    outcomes = execute_signal(sell, waiting, deps, attempt=1)
    assert {o.status for o in outcomes} == {"EXECUTED"}
    assert _open_positions(clean_db) == []
    assert _executions(clean_db, sell) == [("EXECUTED", "close", None)] * 3
    assert (_status(clean_db, buy), _status(clean_db, sell)) == ("processed", "processed")


def test_an_exit_waits_only_for_agents_the_entry_did_not_reach_yet(
        uow_factory: Uow, clean_db: Engine) -> None:
    agents = _agents(uow_factory, 2)
    buy, sell = _signals(uow_factory, "buy", "sell")
    deps = _deps(uow_factory)
    execute_signal(buy, agents[:1], deps)  # one chunk of the buy ran; the other has not yet
    outcomes = {o.agent_id: o for o in execute_signal(sell, agents, deps)}
    assert (outcomes[agents[0]].status, outcomes[agents[0]].action) == ("EXECUTED", "close")
    assert (outcomes[agents[1]].status, outcomes[agents[1]].reason) == (
        WAIT, "earlier_signal_pending")
    execute_signal(buy, agents[1:], deps)
    execute_signal(sell, agents[1:], deps, attempt=1)
    assert _open_positions(clean_db) == []


def test_an_exit_whose_entry_opened_nothing_skips_no_position(
        uow_factory: Uow, clean_db: Engine) -> None:
    poor = create_agent(uow_factory(), FixedClock(NOW), NewAgent(
        name="poor", mode="simulation", deposit_sol=Decimal("0"), config=FIXED))
    buy, sell = _signals(uow_factory, "buy", "sell")
    deps = _deps(uow_factory)
    assert fan_out(sell, deps) == 1
    fan_out(buy, deps)
    assert _executions(clean_db, buy) == [("SKIPPED", "none", "insufficient_balance")]
    execute_signal(sell, [poor], deps, attempt=1)
    assert _executions(clean_db, sell) == [("SKIPPED", "none", "no_position")]
    assert _status(clean_db, sell) == "processed"


def test_an_entry_received_after_an_exit_is_applied_after_it(
        uow_factory: Uow, clean_db: Engine) -> None:
    [agent] = _agents(uow_factory, 1)
    deps = _deps(uow_factory)
    [first_buy] = _signals(uow_factory, "buy", at=NOW - timedelta(minutes=1))
    fan_out(first_buy, deps)
    [held] = _open_positions(clean_db)
    sell, buy = _signals(uow_factory, "sell", "buy")
    # The later buy reaches the agent first: it waits for the sell (else it would DCA-skip
    # into the position the sell then closes, and the agent would end with nothing).
    [waited] = execute_signal(buy, [agent], deps)
    assert (waited.status, waited.reason) == (WAIT, "earlier_signal_pending")
    assert _executions(clean_db, buy) == []
    fan_out(sell, deps)
    assert _open_positions(clean_db) == []
    [opened] = execute_signal(buy, [agent], deps, attempt=1)
    assert (opened.status, opened.action) == ("EXECUTED", "open")
    [now_held] = _open_positions(clean_db)
    assert now_held.id != held.id
    with clean_db.connect() as conn:
        tx_signal = conn.execute(select(m.AgentTransaction.signal_id).where(
            m.AgentTransaction.id == now_held.purchase_transaction_id)).scalar_one()
    assert tx_signal == buy


def test_an_exit_without_a_racing_entry_reaches_only_holders(
        uow_factory: Uow, clean_db: Engine) -> None:
    _agents(uow_factory, 2)
    [sell] = _signals(uow_factory, "sell")
    deps = _deps(uow_factory)
    assert fan_out(sell, deps) == 0
    assert _status(clean_db, sell) == "processed"


def test_a_turn_that_never_comes_fails_with_a_reason_after_the_longest_wait(
        uow_factory: Uow, clean_db: Engine) -> None:
    agents = _agents(uow_factory, 2)
    buy, sell = _signals(uow_factory, "buy", "sell")
    with uow_factory() as u:  # the buy's fan-out counted both agents but never ran them
        u.signals.mark_dispatched(buy, 2, NOW, targets=agents)
        u.commit()
    late = _deps(uow_factory, NOW + timedelta(minutes=5, seconds=1))
    outcomes = execute_signal(sell, agents, late, attempt=30)
    assert {(o.status, o.reason) for o in outcomes} == {
        ("FAILED", "earlier_signal_still_pending")}
    assert late.queue.executes == []
    assert _executions(clean_db, sell) == [("FAILED", "none", "earlier_signal_still_pending")] * 2


def test_an_agent_the_earlier_signal_did_not_reach_does_not_wait_for_it(
        uow_factory: Uow, clean_db: Engine) -> None:
    """Only the earlier signals an agent is a target of hold it back: an agent that signal's
    fan-out found ineligible (here a minimum score above its strength) goes ahead."""
    agents = _agents(uow_factory, 2)
    picky = create_agent(uow_factory(), FixedClock(NOW), NewAgent(
        name="picky", mode="simulation", deposit_sol=Decimal("10"),
        config={**FIXED, "signals": {"minScore": 95}}))
    [buy] = _signals(uow_factory, "buy")  # strength 90: below picky's minimum
    deps = _deps(uow_factory)
    one_a_chunk = dataclasses.replace(deps, policy=dataclasses.replace(
        deps.policy, fanout_chunk_size=1))
    assert fan_out(buy, one_a_chunk) == 2  # the first chunk ran; the second is still queued
    [(_, [queued])] = one_a_chunk.queue.executes
    [ran] = set(agents) - {queued}
    with uow_factory() as u:
        [strong] = [i for i, _ in u.signals.add_many(
            [Signal(TOKEN, "buy", 99, idempotency_key="strong")], NOW + timedelta(seconds=1))]
        u.commit()
    outcomes = {o.agent_id: o for o in execute_signal(strong, [*agents, picky], deps)}
    assert (outcomes[picky].status, outcomes[picky].action) == ("EXECUTED", "open")
    assert (outcomes[queued].status, outcomes[queued].reason) == (
        WAIT, "earlier_signal_pending")
    assert (outcomes[ran].status, outcomes[ran].reason) == ("SKIPPED", "position_exists")
    with clean_db.connect() as conn:  # the buy's targets, kept until it is processed
        assert set(conn.execute(select(m.SignalTarget.agent_id)
                                .where(m.SignalTarget.signal_id == buy)).scalars()) \
            == set(agents)
    execute_signal(buy, [queued], deps)
    assert _status(clean_db, buy) == "processed"
    assert count_targets(clean_db) == 0  # deleted with the signal processed


def count_targets(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(m.SignalTarget.agent_id)).all())
