"""Sweep cost (issue 9 §5): 10,000 and 100,000 open positions over 500 tokens, one price
tick. Positions are seeded set-based; the sweep handler runs in this process, token chunk
by token chunk exactly as the `positions.sweep_tokens` tasks would. Issue 19 §3: the first
tick stores every position's quiet band; then a flat tick selects and writes nothing, a
ratcheting one writes each changed stop with its new band in one batch. The baseline is the
same flat tick evaluating every position (the sweep before bands)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import redis
from sqlalchemy import Engine, insert, text

from domain.bands import Candidate
from domain.base58 import b58encode
from domain.ledger import SOL_MINT
from domain.ports import PriceQuote
from persistence import models as m
from persistence.cache import Cache
from persistence.db import make_session_factory
from persistence.repositories.positions import PositionRepository
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.bench.conftest import Board, summarize
from tests.fakes import FakePriceFeed, FakeSwaps, KeysOnlyVenue, NoMetrics, RecordingQueue
from workers.handlers.positions.sweep import sweep
from workers.handlers.shared.deps import Deps, Policy

pytestmark = pytest.mark.bench
TOKENS = [b58encode(uuid.UUID(int=i + 1).bytes * 2) for i in range(500)]
AVG = Decimal("0.001")
PER_AGENT = 100


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def seed(engine: Engine, positions: int) -> None:
    """`positions` open positions, PER_AGENT per agent, tokens round-robin over 500."""
    agents = positions // PER_AGENT
    now = datetime.now(UTC)
    with engine.begin() as conn:
        user = conn.execute(insert(m.User).values(email=f"bench-{uuid.uuid4()}@x")
                            .returning(m.User.id)).scalar_one()
        ids = [uuid.uuid4() for _ in range(agents)]
        conn.execute(insert(m.Agent), [{"id": a, "user_id": user, "name": f"sweep-{i:06d}"}
                                       for i, a in enumerate(ids)])
        wallets = {a: f"sim_{a.hex[:40]}" for a in ids}
        conn.execute(insert(m.AgentWallet), [{"wallet_address": w, "agent_id": a,
                                              "wallet_type": "simulation"}
                                             for a, w in wallets.items()])
        for start in range(0, agents, 100):
            _seed_agents(conn, ids[start:start + 100], wallets, now)


def _seed_agents(conn: object, ids: list[uuid.UUID], wallets: dict[uuid.UUID, str],
                 now: datetime) -> None:
    txs, positions = [], []
    for n, agent in enumerate(ids):
        for k in range(PER_AGENT):
            token = TOKENS[(n * PER_AGENT + k) % len(TOKENS)]
            tx = uuid.uuid4()
            txs.append({"id": tx, "agent_id": agent, "wallet_address": wallets[agent],
                        "transaction_type": "SWAP", "transaction_time": now,
                        "input_mint": SOL_MINT, "input_amount": Decimal(1),
                        "output_mint": token, "output_amount": Decimal(1000)})
            positions.append({"agent_id": agent, "wallet_address": wallets[agent],
                              "token_address": token, "purchase_transaction_id": tx,
                              "purchase_price": AVG, "purchase_amount": Decimal(1000),
                              "total_invested_sol": Decimal(1), "peak_price": AVG,
                              "current_stop_loss_percentage": Decimal(-32),
                              "created_at": now, "updated_at": now})
    conn.execute(insert(m.AgentTransaction), txs)  # type: ignore[attr-defined]
    conn.execute(insert(m.AgentPosition), positions)  # type: ignore[attr-defined]


def tick(client: redis.Redis, price: Decimal) -> None:
    now = datetime.now(UTC)
    Cache(client).write_prices(PriceQuote(t, price, now, "bench") for t in TOKENS)


def updated_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        return int(conn.execute(text(
            "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'agent_positions'")
        ).scalar_one())


def run_sweep(engine: Engine, client: redis.Redis) -> float:
    factory = make_session_factory(engine)
    deps = Deps(uow=lambda: SqlAlchemyUnitOfWork(factory), cache=Cache(client), clock=Clock(),
                queue=RecordingQueue(), prices=FakePriceFeed(), metrics=NoMetrics(),
                paper=FakeSwaps(), venue=KeysOnlyVenue(),
                policy=Policy(price_freshness=timedelta(seconds=600)))  # a loaded machine
    started = time.perf_counter()
    for i in range(0, len(TOKENS), 10):
        sweep(TOKENS[i:i + 10], deps)
    return time.perf_counter() - started


def every_position(self: PositionRepository, prices: Mapping[str, Decimal], now: datetime,
                   basis: int) -> list[Candidate]:
    """The sweep before bands, as the same-run baseline: every open position of the tokens
    is evaluated (read as if its band were valid, so a flat tick writes nothing)."""
    return [Candidate(p, 0, True) for p in self.list_open(token_addresses=prices)]


@pytest.mark.timeout(1800)  # four full ticks of 100,000 positions, and the baseline's
@pytest.mark.parametrize("positions", [10_000, 100_000])
def test_sweep_cost(board: Board, clean_db: Engine, redis_client: redis.Redis,
                    positions: int, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(clean_db, positions)
    with clean_db.begin() as conn:
        conn.execute(text("ANALYZE agent_positions"))
    tick(redis_client, AVG)  # new positions have no band yet: each is evaluated, its band stored
    first = run_sweep(clean_db, redis_client)
    with monkeypatch.context() as patch:
        patch.setattr(PositionRepository, "sweep_candidates", every_position)
        tick(redis_client, AVG)
        everything = run_sweep(clean_db, redis_client)
    tick(redis_client, AVG)  # no change: nothing may be written
    time.sleep(0.6)  # let the statistics collector count the first tick's writes
    before = updated_rows(clean_db)
    flat = run_sweep(clean_db, redis_client)
    time.sleep(0.6)  # the statistics collector reports with a short delay
    unchanged_writes = updated_rows(clean_db) - before
    tick(redis_client, AVG * Decimal("1.5"))  # +50 %: every peak and stop ratchets
    moved = run_sweep(clean_db, redis_client)
    tick(redis_client, AVG * Decimal("1.5"))  # the ratchet stored the new bands: quiet again
    flat_after = run_sweep(clean_db, redis_client)
    baseline = f"sweep: {positions:,} positions, flat tick, every position evaluated"
    board.add(summarize(baseline, "µs/position", [everything / positions * 1e6],
                        note=f"{everything:.2f} s (the sweep before bands)"))
    for label, seconds, target in (("first tick, every band stored", first, None),
                                   ("flat tick, nothing written", flat, 20),
                                   ("every stop ratchets, all rows written", moved, 50),
                                   ("flat tick after the ratchet", flat_after, 20)):
        per = seconds / positions * 1e6
        board.add(summarize(f"sweep: {positions:,} positions, {label}", "µs/position", [per],
                            target="" if target is None else f"≤ {target} µs",
                            passed=None if target is None else per <= target,
                            note=f"{seconds:.2f} s", baseline=baseline))
    assert unchanged_writes == 0
