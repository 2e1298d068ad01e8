"""Fan-out (docs/rules.md §2) and ingest (§1) on the in-memory fakes: which agents a stored
signal reaches, how it is chunked, and what an incoming payload stores and enqueues."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from domain.channels import STREAM
from domain.errors import InvalidSignal, TransientError
from domain.ports import PriceFeed, PriceQuote
from domain.signals import Signal
from tests.unit.domain.helpers import OTHER_USER_ID, T0, USER_ID
from tests.unit.handlers.signal_fleet import FIXED, NOW, TOKEN, CommitsAtEnqueue, Fleet
from workers.handlers.shared.deps import Policy
from workers.handlers.signals.execute import execute_signal
from workers.handlers.signals.fan_out import fan_out, fan_out_here
from workers.handlers.signals.ingest import Ingested, ingest, store_signals


def test_only_eligible_agents_are_executed() -> None:
    f = Fleet()
    eligible = f.agent()
    f.agent(automated_trading_simulation=False)  # automation paused
    f.agent(archived_at=T0)  # retired
    f.agent(config={**FIXED, "signals": {"minScore": 80}})  # the signal scores 50
    f.agent(config={**FIXED, "signals": {"tokenFilterMode": "blacklist", "tokenList": [TOKEN]}})
    f.agent(config={**FIXED, "signals": {"allowedSignalTypes": ["momentum"]}})
    f.agent(config={**FIXED, "signals": {"marketCapMin": "1000"}})  # no metrics source
    f.agent(config={"dca": {"mode": "sideways"}})  # an invalid config reaches nothing
    sid = f.signal()
    assert fan_out(sid, f.deps) == 1
    assert f.executions(sid) == {eligible: ("EXECUTED", "open", None)}
    assert [p.agent_id for p in f.store.positions.values()] == [eligible]
    assert f.status(sid) == "processed" and f.queue.executes == []


@pytest.mark.parametrize(("user", "reached"), [(None, {0, 1}), (USER_ID, {0}),
                                                (OTHER_USER_ID, {1})])
def test_a_signal_of_a_user_reaches_that_users_agents_only(user: uuid.UUID | None,
                                                           reached: set[int]) -> None:
    f = Fleet()
    agents = [f.agent(user_id=USER_ID), f.agent(user_id=OTHER_USER_ID)]
    sid = f.signal(user_id=user)
    fan_out(sid, f.deps)
    assert set(f.executions(sid)) == {agents[i] for i in reached}


def test_the_first_chunk_runs_inline_and_the_rest_are_enqueued_after_commit() -> None:
    f = Fleet()
    f.use(policy=Policy(fanout_chunk_size=2), queue=CommitsAtEnqueue(f.store))
    agents = [f.agent() for _ in range(5)]
    sid = f.signal()
    assert fan_out(sid, f.deps) == 5
    assert set(f.executions(sid)) == set(agents[:2])  # the inline chunk
    assert f.queue.executes == [(sid, agents[2:4]), (sid, agents[4:])]
    assert f.status(sid) == "dispatched" and f.store.signals[sid].eligible_agents == 5
    for signal_id, chunk in f.queue.executes:  # the workers run the enqueued chunks
        execute_signal(signal_id, chunk, f.deps)
    assert {e[:2] for e in f.executions(sid).values()} == {("EXECUTED", "open")}
    assert len(f.executions(sid)) == len(f.store.positions) == 5
    assert f.status(sid) == "processed"


def test_a_fan_out_run_again_never_sends_an_executed_agent_twice() -> None:
    f = Fleet()
    f.use(policy=Policy(fanout_chunk_size=2))
    agents = [f.agent() for _ in range(3)]
    sid = f.signal()
    fan_out(sid, f.deps)  # the inline chunk ran; the last agent's chunk was lost
    assert fan_out(sid, f.deps) == 1  # the outbox sweeper's re-run
    assert set(f.executions(sid)) == set(agents)
    assert f.queue.executes == [(sid, [agents[2]])]
    for signal_id, chunk in f.queue.executes:  # the lost chunk is delivered after all
        execute_signal(signal_id, chunk, f.deps)
    assert len(f.store.transactions) == len(f.store.positions) == 3
    assert fan_out(sid, f.deps) == 0 and f.status(sid) == "processed"


def test_an_exit_signal_reaches_only_the_holders() -> None:
    f = Fleet()
    holder, other = f.agent(), f.agent()
    f.holding(holder)
    sid = f.signal("sell")
    assert fan_out(sid, f.deps) == 1
    assert f.executions(sid) == {holder: ("EXECUTED", "close", None)}
    assert other not in f.executions(sid)


PAYLOAD = {"token_address": TOKEN, "signal_type": "buy", "signal_strength": 70,
           "symbol": "BONK", "idempotency_key": "k-1"}


def test_ingest_stores_the_signal_and_enqueues_its_fan_out_after_commit() -> None:
    f = Fleet()
    f.use(queue=CommitsAtEnqueue(f.store))
    result = ingest(PAYLOAD, f.deps)
    assert result == Ingested(result.signal_id, True)
    row = f.store.signals[result.signal_id]
    assert (row.status, row.received_at) == ("pending", NOW)
    assert row.signal == Signal(TOKEN, "buy", 70, symbol="BONK", idempotency_key="k-1")
    queue = f.deps.queue
    assert isinstance(queue, CommitsAtEnqueue)
    assert queue.fan_outs == [[result.signal_id]] and queue.commits_seen == [1]


def test_a_repeated_key_returns_the_stored_signal_and_enqueues_nothing() -> None:
    f = Fleet()
    first = ingest(PAYLOAD, f.deps)
    again = ingest({**PAYLOAD, "signal_strength": 90}, f.deps)
    assert again == Ingested(first.signal_id, False)
    assert list(f.store.signals) == [first.signal_id]
    assert f.store.signals[first.signal_id].signal.signal_strength == 70
    assert f.queue.fan_outs == [[first.signal_id]]
    # the same key in another namespace (the stream) is another signal
    [other] = store_signals([Signal(TOKEN, "buy", 70, idempotency_key="k-1")], f.deps, STREAM)
    assert other.created and other.signal_id != first.signal_id


@pytest.mark.parametrize(("change", "field"), [
    ({"token_address": None}, "token_address"),
    ({"token_address": "not-a-key"}, "token_address"),
    ({"signal_strength": 0}, "signal_strength"),
    ({"signal_strength": "70"}, "signal_strength"),
    ({"user_id": "nobody"}, "user_id"),
    ({"colour": "red"}, "colour"),
    ({"signal_type": "hodl"}, "signal_type"),  # outside the vocabulary (buy; sell)
])
def test_an_invalid_payload_is_refused_naming_the_field_and_stores_nothing(
        change: dict[str, Any], field: str) -> None:
    f = Fleet()
    with pytest.raises(InvalidSignal) as refused:
        ingest({**PAYLOAD, **change}, f.deps)
    assert refused.value.field == field
    assert f.store.signals == {} and f.store.commits == 0 and f.queue.fan_outs == []



def test_the_low_latency_path_executes_a_small_fan_out_with_no_hop() -> None:
    f = Fleet()
    f.use(policy=Policy(inline_agents=3))
    agents = [f.agent() for _ in range(3)]
    sids = [f.signal(), f.signal("sell")]
    fan_out_here(sids, f.deps)
    assert f.executions(sids[0]) == {a: ("EXECUTED", "open", None) for a in agents}
    assert f.executions(sids[1]) == {a: ("EXECUTED", "close", None) for a in agents}
    assert [f.status(s) for s in sids] == ["processed"] * 2
    assert f.queue.fan_outs == [] and f.queue.executes == []


def test_a_fan_out_over_the_inline_limit_goes_to_the_workers_whole() -> None:
    f = Fleet()
    f.use(policy=Policy(inline_agents=3, fanout_chunk_size=2))
    agents = [f.agent() for _ in range(4)]
    sid = f.signal()
    fan_out_here([sid], f.deps)
    assert f.executions(sid) == {}  # nothing ran in the ingestor
    assert f.queue.executes == [(sid, agents[:2]), (sid, agents[2:])]
    assert f.status(sid) == "dispatched" and f.store.signals[sid].eligible_agents == 4


@pytest.mark.parametrize(("policy", "batch"), [(Policy(), 1), (Policy(inline_agents=3), 5)])
def test_off_or_a_large_batch_enqueues_the_fan_outs(policy: Policy, batch: int) -> None:
    f = Fleet()
    f.use(policy=policy)
    f.agent()
    sids = [f.signal(strength=50 + i) for i in range(batch)]
    fan_out_here(sids, f.deps)
    assert f.queue.fan_outs == [sids]
    assert all(f.executions(sid) == {} and f.status(sid) == "pending" for sid in sids)


class FailsOnce:
    """A price feed whose ``n``-th read fails as a database outage would."""

    def __init__(self, feed: PriceFeed, n: int) -> None:
        self.feed, self.n = feed, n

    def get_prices(self, token_addresses: Sequence[str]) -> dict[str, PriceQuote]:
        self.n -= 1
        if self.n == 0:
            raise TransientError("database unavailable")
        return self.feed.get_prices(token_addresses)


def test_a_failure_on_the_low_latency_path_hands_the_rest_to_the_workers() -> None:
    f = Fleet()
    f.use(policy=Policy(inline_agents=3))
    f.use(prices=FailsOnce(f.deps.prices, 2))
    agent = f.agent()
    sids = [f.signal(strength=60), f.signal(strength=70), f.signal(strength=80)]
    fan_out_here(sids, f.deps)
    assert f.executions(sids[0]) == {agent: ("EXECUTED", "open", None)}  # executed here
    assert f.queue.fan_outs == [sids[1:]]  # the failed one and the rest: to the workers
    assert f.executions(sids[1]) == f.executions(sids[2]) == {}
    assert f.status(sids[1]) == "dispatched" and f.status(sids[2]) == "pending"
