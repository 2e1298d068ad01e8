"""Scenario 6: a DCA signal and a stop-loss exit racing on one position, on two workers.

At −50 % a buy signal on a held token DCAs (moderate level −20 %, buy 75 % of the holding)
and the sweep's stop loss (−32 %) exits; the DCA does not save the position (the stop still
triggers from the lower average). Whoever takes the agent's lock first wins: a DCA before the
exit is sold with the rest; a buy after the exit opens a fresh position. Each position exits
exactly once, its sale holds every token bought into it, and a second buy of the same token
is skipped (the DCA cooldown, or the fresh position's unreached drop). The fresh positions
then close on a sell, with a PnL of their own money only."""

from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

import redis
from celery import Celery
from sqlalchemy import Engine, select

from domain.signals import Signal
from persistence import models as m
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.chaos.fleet import Fleet, settle
from tests.chaos.helpers import SMALL, count, make_agents, mint, payload, push_all, set_prices
from tests.chaos.invariants import assert_invariants
from tests.e2e.conftest import wait_for
from tests.e2e.sweep_helpers import wait_idle

DCA_AND_STOP = {**SMALL, "stopLoss": {"enabled": True},
                "dca": {"enabled": True, "mode": "moderate", "cooldownSeconds": 3600}}
AGENTS = 12
OPEN, DROP = "0.001", "0.0005"  # −50 %: past the −32 % stop and the −20 % DCA level
DCA_SHARE = Decimal("0.75")  # moderate level 1 buys 75 % of the holding
TOKENS = [mint(600 + i) for i in range(4)]
ROUNDS = [TOKENS[:2], TOKENS[2:]]  # round 0 sends the sweeps first, round 1 the signals
LEGIT = {"dca", "open", "skip"}

Key = tuple[uuid.UUID, str]  # (agent, token)


def test_a_dca_and_a_stop_loss_racing_exit_each_position_once_with_every_token(
        chaos: Engine, e2e_redis: redis.Redis, sender: Celery, fleet: Fleet) -> None:
    fleet.start_worker("w2")
    agents = make_agents(chaos, AGENTS, config=DCA_AND_STOP)
    set_prices(e2e_redis, TOKENS, OPEN)
    push_all(e2e_redis, [payload(t, 600 + i) for i, t in enumerate(TOKENS)])
    settle(chaos, sender, e2e_redis, signals=len(TOKENS))
    opened = open_positions(chaos)  # (agent, token) → (purchase transaction, tokens)
    assert len(opened) == AGENTS * len(TOKENS)

    race_signals: dict[str, list[int]] = {}  # token → its two racing buys
    for r, pair in enumerate(ROUNDS):
        stored = {t: stored_signal(chaos, t, f"dca-stop-{r}-{t}") for t in pair}
        set_prices(e2e_redis, pair, DROP)
        sender.send_task("prices.refresh", queue="sweeps")
        wait_idle(e2e_redis)
        race(sender, e2e_redis, pair, stored, agents, r)
        settle(chaos, sender, e2e_redis, signals=len(TOKENS) + 4 * (r + 1))
        # A DCA committed after the last racing sweep: the next beat sweep stops it out.
        sender.send_task("prices.refresh", queue="sweeps")
        wait_idle(e2e_redis)
        sender.send_task("positions.sweep_tokens", args=[pair], queue="sweeps")
        racing = {opened[(a, t)][0] for a in agents for t in pair}
        wait_for(partial(all_closed, chaos, racing), what="every racing position stopped out")
        wait_idle(e2e_redis)
        for t in pair:
            race_signals[t] = [stored[t], stream_signal(chaos, t)]

    outcomes, reopened = check_race(chaos, opened, race_signals)
    # The fresh positions close on a sell: none may count the stop-loss sale it waited behind
    # as its own proceeds (money conservation, below), though a buy's clock is read before
    # its lock wait. Left open, such a position would trip the ledger fold of
    # tests/invariants.py, which counts every sale of the token since its created_at.
    push_all(e2e_redis, [payload(t, 690 + i, "sell") for i, t in enumerate(TOKENS)])
    settle(chaos, sender, e2e_redis, signals=len(TOKENS) * 4)
    assert count(chaos, m.AgentPosition) == 0
    with chaos.connect() as conn:
        closes = Counter(conn.execute(select(
            m.AgentHistoricalSwap.purchase_transaction_id, m.AgentHistoricalSwap.amount,
            m.AgentHistoricalSwap.close_reason).where(
            m.AgentHistoricalSwap.close_reason == "signal")))
    assert closes == Counter((tx, tokens, "signal") for tx, tokens in reopened.values())
    print("dca/stop race outcomes:", dict(outcomes))
    assert_invariants(chaos)


def race(sender: Celery, client: redis.Redis, pair: list[str], stored: dict[str, int],
         agents: list[uuid.UUID], r: int) -> None:
    """For both tokens at once: a pushed buy signal (one chunk, the bulk path), a second
    buy executed agent by agent (a transaction each, in a shuffled order) and sweeps, all
    interleaved on the two workers' four slots."""
    def sweeps() -> None:
        for token in pair:
            sender.send_task("positions.sweep_tokens", args=[[token]], queue="sweeps")
        sender.send_task("positions.sweep", queue="sweeps")

    order = [str(a) for a in agents]
    random.Random(r).shuffle(order)
    if r % 2 == 0:
        sweeps()
    push_all(client, [{**payload(t, 0), "idempotency_key": f"race-{t}"} for t in pair])
    for i, agent_id in enumerate(order):
        for token in pair:
            sender.send_task("signals.execute", args=[stored[token], [agent_id]],
                             queue="signals")
        if i % 4 == 3:
            sweeps()
    if r % 2 == 1:
        sweeps()


def check_race(engine: Engine, opened: dict[Key, tuple[uuid.UUID, Decimal]],
               race_signals: dict[str, list[int]],
               ) -> tuple[Counter[str], dict[Key, tuple[uuid.UUID, Decimal]]]:
    """Per (agent, token): one exit, of every token bought into the position; the two buys
    are two different legitimate outcomes; a fresh position holds only its own buy. Returns
    the outcomes and the fresh positions (purchase transaction, tokens)."""
    e, t, h = m.SignalExecution, m.AgentTransaction, m.AgentHistoricalSwap
    signal_token = {sid: token for token, sids in race_signals.items() for sid in sids}
    with engine.connect() as conn:
        txs = {row.id: row for row in conn.execute(select(t).where(
            t.transaction_type == "SWAP"))}
        executions = list(conn.execute(select(e).where(e.signal_id.in_(list(signal_token)))))
        history = list(conn.execute(select(h)))
        positions = {(p.agent_id, p.token_address): p
                     for p in conn.execute(select(m.AgentPosition))}
    kinds: dict[Key, list[str]] = defaultdict(list)
    made: dict[Key, dict[str, list[uuid.UUID]]] = defaultdict(lambda: defaultdict(list))
    for x in executions:
        key = (x.agent_id, signal_token[x.signal_id])
        kind = {("EXECUTED", "dca", None): "dca", ("EXECUTED", "open", None): "open",
                ("SKIPPED", "none", "position_exists"): "skip"}.get(
            (x.status, x.action, x.reason), f"{x.status}/{x.action}/{x.reason}")
        kinds[key].append(kind)
        if x.transaction_id is not None:
            made[key][kind].append(x.transaction_id)
    closes: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in history:
        closes[row.purchase_transaction_id].append(row)
    outcomes: Counter[str] = Counter()
    fresh_positions: dict[Key, tuple[uuid.UUID, Decimal]] = {}
    for key, (first_buy, tokens) in opened.items():
        if key[1] not in race_signals:
            continue
        what = f"agent {key[0]} token {key[1]}: {sorted(kinds[key])}"
        got = sorted(kinds[key])
        outcomes["+".join(got)] += 1
        # Two buys: DCA then skip (cooldown), DCA then a fresh open after the exit, or a
        # fresh open after the exit then a skip (its drop not reached) — never the same twice.
        assert len(got) == 2 and len(set(got)) == 2 and set(got) <= LEGIT, what
        exits = closes.pop(first_buy, [])
        assert len(exits) == 1, f"{what}: the position exited {len(exits)} times"
        [closed] = exits
        assert closed.close_reason == "stop_loss", what
        dcas = [txs[i] for i in made[key]["dca"]]
        assert all(d.is_dca and d.output_mint == key[1] and d.output_amount == tokens * DCA_SHARE
                   for d in dcas), what
        bought = tokens + sum((d.output_amount for d in dcas), Decimal(0))
        sale = txs[closed.sale_transaction_id]
        assert closed.amount == bought and sale.input_amount == bought, (
            f"{what}: bought {bought}, position closed with {closed.amount}, "
            f"sold {sale.input_amount}")
        reopened = [txs[i] for i in made[key]["open"]]
        buys = {i for i, x in txs.items() if (x.agent_id, x.output_mint) == key}
        sales = {i for i, x in txs.items() if (x.agent_id, x.input_mint) == key}
        assert buys == {first_buy, *(d.id for d in dcas), *(o.id for o in reopened)}, what
        assert sales == {sale.id}, what
        fresh = positions.pop(key, None)
        if reopened:
            [buy] = reopened
            assert fresh is not None and fresh.purchase_transaction_id == buy.id, what
            assert (fresh.purchase_amount, fresh.dca_count) == (buy.output_amount, 0), what
            fresh_positions[key] = (buy.id, buy.output_amount)
            # the buy's clock is read before it waits for the agent's lock
            outcomes["stamped_before_the_exit"] += fresh.created_at < closed.sale_time
        else:
            assert fresh is None, what
    assert not [c for c in closes.values() if c], f"closes of no racing position: {closes}"
    assert all(token not in race_signals for _, token in positions), positions
    return outcomes, fresh_positions


def open_positions(engine: Engine) -> dict[Key, tuple[uuid.UUID, Decimal]]:
    with engine.connect() as conn:
        return {(p.agent_id, p.token_address): (p.purchase_transaction_id, p.purchase_amount)
                for p in conn.execute(select(m.AgentPosition))}


def all_closed(engine: Engine, purchases: set[uuid.UUID]) -> bool:
    with engine.connect() as conn:
        return not conn.execute(select(m.AgentPosition.id).where(
            m.AgentPosition.purchase_transaction_id.in_(list(purchases)))).first()


def stored_signal(engine: Engine, token: str, key: str) -> int:
    """A committed buy signal whose fan-out is not enqueued: the race executes it agent by
    agent (the outbox sweeper fans it out later, finding every agent done)."""
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine))
    with uow:
        signal_id, _ = uow.signals.add(Signal(token, "buy", 60, idempotency_key=key),
                                       datetime.now(UTC))
        uow.commit()
    return int(signal_id)


def stream_signal(engine: Engine, token: str) -> int:
    """The token's pushed racing buy."""
    with engine.connect() as conn:
        return int(conn.execute(select(m.TradingSignal.id).where(
            m.TradingSignal.idempotency_key == f"race-{token}")).scalar_one())
