"""Order per agent and token and one swap at a time (docs/rules.md §3 "Waiting for a turn")
on the in-memory fakes: what waits, what it leaves, and how the wait ends."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

from domain.submissions import CONFIRMED
from tests.fakes import FixedClock, KeysOnlyVenue
from tests.unit.handlers.signal_fleet import NOW, Fleet
from workers.handlers.signals.execute import execute_signal
from workers.handlers.signals.fan_out import fan_out


def test_an_exit_fanned_out_before_its_entry_waits_then_closes() -> None:
    f = Fleet()
    agents = [f.agent(), f.agent()]
    buy, sell = f.signal("buy", idempotency_key="b"), f.signal("sell", idempotency_key="s")
    assert fan_out(sell, f.deps) == 2  # nobody holds the token yet: the buy may open
    assert f.executions(sell) == {} and f.status(sell) == "dispatched"
    assert f.queue.executes == [(sell, agents)]
    fan_out(buy, f.deps)
    assert len(f.store.positions) == 2
    execute_signal(sell, agents, f.deps, attempt=1)
    assert f.store.positions == {}
    assert set(f.executions(sell).values()) == {("EXECUTED", "close", None)}
    assert (f.status(buy), f.status(sell)) == ("processed", "processed")


def test_a_re_run_of_the_fan_out_starts_no_second_retry_chain() -> None:
    """The outbox sweeper re-runs a dispatched signal's fan-out every grace period: its
    waiting agents are looked at but not sent again (the first fan-out's chain, or the next
    re-run, brings them back), so retries never multiply."""
    f = Fleet()
    agents = [f.agent(), f.agent()]
    buy, sell = f.signal("buy", idempotency_key="b"), f.signal("sell", idempotency_key="s")
    fan_out(sell, f.deps)
    assert f.queue.executes == [(sell, agents)] and f.queue.attempts == [(1, 0.5)]
    for _ in range(3):
        assert fan_out(sell, f.deps) == 2  # the sweeper's re-runs: both still wait
    assert f.queue.executes == [(sell, agents)]
    fan_out(buy, f.deps)
    fan_out(sell, f.deps)  # a re-run once the buy is applied closes every position
    assert f.store.positions == {} and f.status(sell) == "processed"


def test_an_entry_received_after_an_exit_waits_for_it() -> None:
    f = Fleet()
    agent = f.agent()
    held = f.holding(agent)
    sell, buy = f.signal("sell", idempotency_key="s"), f.signal("buy", idempotency_key="b")
    [waited] = execute_signal(buy, [agent], f.deps)
    assert (waited.status, waited.reason) == ("WAIT", "earlier_signal_pending")
    assert list(f.store.positions) == [held.id]
    fan_out(sell, f.deps)
    execute_signal(buy, [agent], f.deps, attempt=1)
    [opened] = f.store.positions.values()
    assert opened.id != held.id and f.executions(buy) == {agent: ("EXECUTED", "open", None)}


def test_an_earlier_signal_whose_executions_all_exist_holds_nobody_back() -> None:
    f = Fleet()
    agents = [f.agent(), f.agent()]
    first = f.signal("buy", idempotency_key="one", dispatched_to=1, targets=agents[:1])
    execute_signal(first, agents[:1], f.deps)  # the second agent was not eligible for it
    second = f.signal("buy", idempotency_key="two", dispatched_to=2)
    execute_signal(second, agents, f.deps)
    assert f.executions(second) == {agents[0]: ("SKIPPED", "none", "position_exists"),
                                    agents[1]: ("EXECUTED", "open", None)}
    assert f.queue.executes == []


def test_an_agent_an_earlier_signal_did_not_reach_goes_ahead_of_it() -> None:
    """Only a dispatched signal's targets wait for it: the agent its fan-out found
    ineligible does not, while the target still without its execution does."""
    f = Fleet()
    reached, other = f.agent(), f.agent()
    f.signal("buy", idempotency_key="one", dispatched_to=1, targets=[reached])
    second = f.signal("buy", idempotency_key="two", dispatched_to=2)
    outcomes = {o.agent_id: o for o in execute_signal(second, [reached, other], f.deps)}
    assert (outcomes[reached].status, outcomes[reached].reason) == (
        "WAIT", "earlier_signal_pending")
    assert f.executions(second) == {other: ("EXECUTED", "open", None)}


def test_the_signal_stays_dispatched_until_its_live_execution_is_final() -> None:
    f = Fleet()
    agent = f.agent(D(5), mode="live")
    f.use(venue=KeysOnlyVenue([f.wallet_of(agent, "live")]))
    sid = f.signal(dispatched_to=1)
    [pending] = execute_signal(sid, [agent], f.deps)
    assert pending.status == "PENDING" and f.status(sid) == "dispatched"
    sub = f.store.submissions[0]
    f.store.submissions[0] = sub.__class__(**{**sub.__dict__, "status": CONFIRMED})
    with f.deps.uow() as uow:
        uow.executions.complete(sid, agent, status="EXECUTED", action="open", reason=None,
                                transaction_id=None, now=NOW)
        assert uow.signals.mark_processed_if_complete(sid, NOW)
        uow.commit()
    assert f.status(sid) == "processed"


def test_a_wait_past_the_longest_fails_with_its_reason() -> None:
    f = Fleet()
    agent = f.agent()
    f.signal("buy", idempotency_key="never-run", dispatched_to=1, targets=[agent])
    sell = f.signal("sell", idempotency_key="s", dispatched_to=1)
    f.use(clock=FixedClock(NOW + f.deps.policy.signal_max_wait + timedelta(seconds=1)))
    [failed] = execute_signal(sell, [agent], f.deps, attempt=7)
    assert (failed.status, failed.reason) == ("FAILED", "earlier_signal_still_pending")
    assert f.executions(sell) == {agent: ("FAILED", "none", "earlier_signal_still_pending")}
    assert f.queue.executes == []
