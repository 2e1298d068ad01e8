"""Scenario 7 over HTTP: the real worker priced by the Jupiter Price v3 adapter against a feed
of the test's own (a stdlib HTTP server on a free loopback port) that answers good prices,
then bad values (negative, zero, NaN, text, malformed entries, a negative SOL price), then an
outage (429 with and without ``Retry-After``, 503, 500, answers that hang past the client's
timeout, garbage bodies), then good prices again.

What the code does, and what this test pins:

- a bad *value* makes the token absent from the quote: entries and exits are SKIPPED
  ``price_unavailable`` at once, a refresh stores nothing, a sweep sells nothing;
- a failed *request* raises ``TransientError`` after at most ``SIGNALFLEET_HTTP_MAX_ATTEMPTS``
  requests: nothing is recorded, Celery retries the task, and once the feed recovers the
  signals that waited trade at the recovered price, exactly;
- meanwhile the workers live, a signal that needs no price flows, the feed never sees more
  than one request per pool process at a time, ``Retry-After`` spaces a process's requests,
  and every request the feed failed is one the adapter counted (a retry, or a call's last).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import httpx
import redis
from celery import Celery
from sqlalchemy import Engine
from sqlalchemy import select as sql_select

from domain.errors import TransientError
from persistence import models as m
from persistence.cache import Cache
from tests.chaos.fake_jupiter import RETRY_AFTER_S, FakeJupiter, entry, prices
from tests.chaos.fleet import Fleet, settle
from tests.chaos.helpers import (
    SMALL,
    count,
    every_entry_reaches,
    make_agents,
    mint,
    payload,
    push_all,
)
from tests.chaos.invariants import assert_invariants
from tests.e2e.conftest import wait_for
from workers.adapters.http import SOL_MINT, RetryPolicy
from workers.adapters.prices import JupiterPriceFeed
from workers.tasks.base import DEAD_TASKS_STREAM

AGENTS = 3
CONCURRENCY = 2  # w1's pool processes: the only callers of the feed
MAX_ATTEMPTS = 3  # SIGNALFLEET_HTTP_MAX_ATTEMPTS
TIMEOUT_S = 1.0  # SIGNALFLEET_HTTP_TIMEOUT_SECONDS
# Stop loss at −10 % and take profit on: a bad price that reached a sweep would sell.
CONFIG = {**SMALL, "stopLoss": {"enabled": True, "defaultPercentage": -10},
          "takeProfit": {"enabled": True}}
LIMITS = {"SIGNALFLEET_VISIBILITY_TIMEOUT_SECONDS": "30",
          "SIGNALFLEET_TASK_SOFT_TIME_LIMIT_SECONDS": "20",
          "SIGNALFLEET_TASK_TIME_LIMIT_SECONDS": "25"}
# The outage, in order: (mode, seconds). Every request in these modes must fail.
OUTAGE = (("429", 6.0), ("429-bare", 3.0), ("503", 2.0), ("500", 1.5), ("hang", 3.5),
          ("garbage", 2.0))

A, B = mint(700), mint(701)  # held from the start
F = mint(799)  # first bought after the recovery




# ---------------------------------------------------------------------------- reading back
def swaps(engine: Engine) -> list[tuple[str, Decimal, str]]:
    """Every SWAP as (token, the quote's price in SOL, the quote's source)."""
    t = m.AgentTransaction
    with engine.connect() as conn:
        rows = conn.execute(sql_select(t.input_mint, t.output_mint, t.swap_payload)
                            .where(t.transaction_type == "SWAP"))
        return [(out if inp == SOL_MINT else inp, Decimal(p["quote_price_sol"]),
                 p["quote_source"]) for inp, out, p in rows]


def outcomes(engine: Engine, token: str,
             side: str = "buy") -> Counter[tuple[str, str, str | None]]:
    e, s = m.SignalExecution, m.TradingSignal
    with engine.connect() as conn:
        return Counter((r.status, r.action, r.reason) for r in conn.execute(
            sql_select(e.status, e.action, e.reason).join(s, s.id == e.signal_id)
            .where(s.token_address == token, s.signal_type == side)))


def processed(engine: Engine) -> int:
    return count(engine, m.TradingSignal, m.TradingSignal.status == "processed")


def log_events(text: str) -> Iterator[dict[str, Any]]:
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                continue


UNAVAILABLE = ("SKIPPED", "none", "price_unavailable")


# ---------------------------------------------------------------------------- the scenario
def test_price_feed_outage_never_trades_on_a_bad_price(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet) -> None:
    with FakeJupiter() as feed, fleet.settings(
            SIGNALFLEET_PRICE_FEED="jupiter", SIGNALFLEET_JUPITER_PRICE_URL=feed.url,
            # the fake serves prices only: no market data from any other host
            SIGNALFLEET_METRICS_SOURCE="none", SIGNALFLEET_PRICE_IMPACT_SOURCE="none",
            SIGNALFLEET_HTTP_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
            SIGNALFLEET_HTTP_TIMEOUT_SECONDS=str(TIMEOUT_S),
            SIGNALFLEET_LOG_FORMAT="json",
            # w1's pool processes are the feed's only callers (the bounds below count them):
            # the ingestor hands every fan-out to them rather than executing small ones itself
            SIGNALFLEET_INLINE_FANOUT_AGENTS="0", **LIMITS):
        run(chaos, e2e_redis, sender, fleet, feed)


def refresh_and_sweep(sender: Celery, refreshes: int = 1) -> None:
    for _ in range(refreshes):
        sender.send_task("prices.refresh", queue="sweeps")
    sender.send_task("positions.sweep", queue="sweeps")


def run(chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet,
        feed: FakeJupiter) -> None:
    w1 = fleet.start_worker("w1", concurrency=CONCURRENCY)
    ingestor = fleet.start_ingestor()
    children = set(fleet.pool_children("w1"))
    agents = make_agents(chaos, AGENTS, config=CONFIG)
    cache = Cache(e2e_redis)
    pushed = 0

    def push(*signals: tuple[str, str]) -> None:
        nonlocal pushed
        push_all(e2e_redis, [payload(token, pushed + i, side)
                             for i, (token, side) in enumerate(signals)])
        pushed += len(signals)

    # 1. Good prices: A and B open at usdPrice / usdPrice(SOL), exactly, from "jupiter".
    feed.serve("prices", **prices("150", **{A: "0.15", B: "0.3"}))
    push((A, "buy"), (B, "buy"))
    settle(chaos, sender, e2e_redis, signals=pushed)
    good = {A: {Decimal("0.001")}, B: {Decimal("0.002")}}
    assert sorted(swaps(chaos)) == sorted([(A, Decimal("0.001"), "jupiter")] * AGENTS
                                          + [(B, Decimal("0.002"), "jupiter")] * AGENTS)
    sender.send_task("prices.refresh", queue="sweeps")
    wait_for(lambda: A in cache.latest_prices([A]), 20, "the first refresh")

    # 2. Bad values in well-formed answers: no price for that token, so no trade, no exit.
    bad = {mint(710): entry("-0.15"), mint(711): entry("0"), mint(712): entry('"NaN"'),
           mint(713): entry('"Infinity"'), mint(714): entry('"cheap"'), mint(715): entry("null"),
           mint(716): entry("-1e400"), mint(717): '"0.15"', mint(718): '{"price": 0.15}',
           mint(719): "null"}  # and mint(720): absent from the answer
    feed.serve("prices", **{SOL_MINT: entry("150"), A: entry("-0.15"), B: entry("0"), **bad})
    push(*[(t, "buy") for t in [*bad, mint(720), A, B]], (A, "sell"), (B, "sell"))
    refresh_and_sweep(sender)
    settle(chaos, sender, e2e_redis, signals=pushed)
    # A bad SOL price spoils every price, however good the token's own.
    feed.serve("prices", **{SOL_MINT: entry("-150"), A: entry("0.15"), B: entry("0.3"),
                            mint(721): entry("0.45")})
    push((mint(721), "buy"), (A, "sell"), (B, "buy"))
    refresh_and_sweep(sender)
    settle(chaos, sender, e2e_redis, signals=pushed)
    for token in [*bad, mint(720), mint(721)]:
        assert outcomes(chaos, token) == {UNAVAILABLE: AGENTS}, token
    assert outcomes(chaos, A, "sell") == {UNAVAILABLE: 2 * AGENTS}
    assert outcomes(chaos, B, "sell") == {UNAVAILABLE: AGENTS}
    assert outcomes(chaos, B)[UNAVAILABLE] == 2 * AGENTS
    assert len(swaps(chaos)) == 2 * AGENTS
    assert count(chaos, m.AgentPosition) == 2 * AGENTS
    assert count(chaos, m.AgentHistoricalSwap) == 0
    assert count(chaos, m.TokenPrice, m.TokenPrice.price_sol <= 0) == 0
    assert {t: q.price_sol for t, q in cache.latest_prices([A, B]).items()} == {
        A: Decimal("0.001"), B: Decimal("0.002")}

    # 3. The outage: no answer is usable. Entries (a new token per mode, and A) and an exit
    # (B) arrive with refreshes and sweeps; nothing trades, nothing is recorded for them.
    executions, before = count(chaos, m.SignalExecution), pushed
    waiting = {mode: mint(730 + k) for k, (mode, _) in enumerate(OUTAGE)}
    for k, (mode, seconds) in enumerate(OUTAGE):
        started = feed.serve(mode)
        push((waiting[mode], "buy"), (A, "buy"), *([(B, "sell")] if k == 0 else []))
        refresh_and_sweep(sender, refreshes=4 if k == 0 else 1)
        if k == 0:  # an exit nobody holds needs no price: it flows past the retrying tasks
            wait_for(lambda: count(chaos, m.TradingSignal) == pushed, 30, "signals stored")
            push((mint(790), "sell"))
            wait_for(lambda: processed(chaos) == before + 1, 30, "the priceless exit")
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))
        assert w1.popen.poll() is None and ingestor.popen.poll() is None, mode
        assert len(swaps(chaos)) == 2 * AGENTS, mode
        assert count(chaos, m.SignalExecution) == executions, mode
        assert count(chaos, m.AgentHistoricalSwap) == 0, mode
    assert processed(chaos) == before + 1  # the others wait for a price, none was skipped

    # 4. Recovery at new prices (a new SOL price too): what waited trades now, exactly there.
    feed.serve("prices", **prices("160", **{A: "0.168", B: "0.328", F: "0.64",
                                            **{t: "0.48" for t in waiting.values()}}))
    settle(chaos, sender, e2e_redis, timeout=75, signals=pushed)
    push((F, "buy"))
    settle(chaos, sender, e2e_redis, signals=pushed)
    good[A].add(Decimal("0.00105"))
    good[B].add(Decimal("0.00205"))
    good |= {t: {Decimal("0.003")} for t in waiting.values()} | {F: {Decimal("0.004")}}
    trades = swaps(chaos)
    for token, price, source in trades:
        assert source == "jupiter" and price in good[token], (token, price, source)
    assert Counter(t for t, *_ in trades) == {
        A: AGENTS, B: 2 * AGENTS, F: AGENTS, **{t: AGENTS for t in waiting.values()}}
    for token in [*waiting.values(), F]:
        assert outcomes(chaos, token) == {("EXECUTED", "open", None): AGENTS}, token
    assert sorted(p for t, p, _ in trades if t == B) == (
        [Decimal("0.002")] * AGENTS + [Decimal("0.00205")] * AGENTS)  # the exit that waited
    with chaos.connect() as conn:
        closes = Counter(conn.execute(sql_select(m.AgentHistoricalSwap.token_address,
                                                 m.AgentHistoricalSwap.close_reason)))
    assert closes == {(B, "signal"): AGENTS}
    assert count(chaos, m.TokenPrice, m.TokenPrice.price_sol <= 0) == 0

    # 5. The feed's side. One request per pool process at a time; hanging answers dropped at
    # the client's timeout; under 429 + Retry-After the whole fleet holds its calls for
    # RETRY_AFTER_S (the cooldown shared in Redis), so requests are about one per window —
    # plus, when a window ends, at most one from each pool process racing for it.
    assert feed.max_in_flight <= CONCURRENCY
    assert feed.abandoned and feed.held_to_cap == 0
    assert max(feed.abandoned) < TIMEOUT_S + 2, feed.abandoned
    span = feed.span("429")
    ceiling = CONCURRENCY * (span / RETRY_AFTER_S + 2)
    assert 0 < feed.count("429") <= ceiling, (feed.count("429"), ceiling)
    # The worker's side: each call gave up after exactly MAX_ATTEMPTS requests (a garbage
    # body after one), and every request the feed failed is a retry or a call's last.
    events = list(log_events(w1.output()))
    retries = [e for e in events if e.get("event") == "http.retry"]
    trace = [str(e["event"]) for e in events if e.get("logger") == "celery.app.trace"]
    trace += [str(e["error"]) for e in events if e.get("event") == "prices.refresh_skipped"]
    gave_up = [int(n) for e in trace for n in re.findall(r"gave up after (\d+) attempts", e)]
    garbage = sum(bool(re.search(r"not valid JSON|unexpected response shape", e)) for e in trace)
    failed = feed.count(*(mode for mode, _ in OUTAGE))
    assert retries and {e["service"] for e in retries} == {"jupiter.price"}
    assert {e["max_attempts"] for e in retries} == {MAX_ATTEMPTS}
    assert max(e["attempt"] for e in retries) == MAX_ATTEMPTS - 1
    assert gave_up and set(gave_up) == {MAX_ATTEMPTS} and garbage
    assert failed <= len(retries) + len(gave_up) + garbage
    assert failed <= MAX_ATTEMPTS * (len(gave_up) + garbage + CONCURRENCY)

    # 6. Nothing died, nothing hung: the same pool processes, no task past its time limit.
    assert w1.popen.poll() is None and set(fleet.pool_children("w1")) == children
    dead = [str(fields.get("reason")) for _, fields in
            cast(list[tuple[str, dict[str, str]]], e2e_redis.xrange(DEAD_TASKS_STREAM))]
    assert not [r for r in dead if "TimeLimit" in r], dead
    assert_invariants(chaos, every_entry_reaches(chaos, agents))


# ---------------------------------------------------------------------------- a gap, closed
class _Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def test_a_trickling_answer_does_not_hold_a_price_call_past_its_timeouts() -> None:
    """httpx's timeouts bound each socket read, not a request: an answer trickling in a byte
    at a time held a price call (and its task) 32 s with a 1 s timeout, before the adapter
    bounded each attempt as a whole."""
    deadline = MAX_ATTEMPTS * TIMEOUT_S + 0.75 + 2  # attempts, backoff ceilings, slack
    with FakeJupiter() as feed, httpx.Client(timeout=TIMEOUT_S) as client:
        feed.serve("trickle", **prices("150", **{A: "0.15"}))
        adapter = JupiterPriceFeed(client, _Clock(), url=feed.url,
                                   policy=RetryPolicy(max_attempts=MAX_ATTEMPTS))

        def call() -> None:
            with contextlib.suppress(TransientError):
                adapter.get_prices([A])

        caller = threading.Thread(target=call, daemon=True)
        caller.start()
        caller.join(deadline)
        late = caller.is_alive()
        feed.stop.set()  # let the call end either way
        caller.join(10)
    assert not late, f"the price call was still running after {deadline:.2f}s"
