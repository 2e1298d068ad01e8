"""What must hold after every fault: nothing lost, nothing doubled, no money made or lost.

Money conservation, per agent (docs/rules.md §5, §10: fees are inside ``total_invested_sol`` and the
net proceeds, so they are not added a second time)::

    SOL balance + cost basis of open positions = deposits − withdrawals + realized PnL

with cost basis = total_invested_sol × holding / purchase_amount and realized PnL = Σ closed
trades' PnL + Σ open positions' ``realized_profit_sol``. Exact without partial sales; each
partial sale may round its PnL by one unit of the 8th decimal.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, func, select

from domain.ledger import SOL_MINT
from persistence import models as m
from tests.invariants import assert_ledger_invariant

ROUNDING = Decimal("0.00000001")


@dataclass(frozen=True)
class Tally:
    signals: int
    executions: int
    lost: int
    doubled: int
    fees_sol: Decimal
    deposits_sol: Decimal


def money_by_agent(engine: Engine) -> dict[uuid.UUID, tuple[Decimal, Decimal, int]]:
    """agent → (left side − right side of the identity, fees paid, partial sales)."""
    gap: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    fees: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    partials: Counter[uuid.UUID] = Counter()
    t = m.AgentTransaction
    with engine.connect() as conn:
        for row in conn.execute(select(t.agent_id, t.transaction_type, t.input_mint,
                                       t.input_amount, t.output_mint, t.output_amount,
                                       t.protocol_fee_sol, t.network_fee_sol)):
            fees[row.agent_id] += (row.protocol_fee_sol or 0) + (row.network_fee_sol or 0)
            if row.transaction_type == "DEPOSIT" and row.output_mint == SOL_MINT:
                gap[row.agent_id] -= row.output_amount
            elif row.transaction_type == "WITHDRAWAL" and row.input_mint == SOL_MINT:
                gap[row.agent_id] += row.input_amount
        for agent_id, balance in conn.execute(select(m.AgentBalance.agent_id,
                                                     m.AgentBalance.balance).where(
                m.AgentBalance.token_address == SOL_MINT)):
            gap[agent_id] += balance
        for p in conn.execute(select(m.AgentPosition)):
            holding = p.remaining_amount if p.remaining_amount is not None else p.purchase_amount
            if p.purchase_amount:
                gap[p.agent_id] += p.total_invested_sol * holding / p.purchase_amount
            gap[p.agent_id] -= p.realized_profit_sol or 0
            partials[p.agent_id] += holding != p.purchase_amount
        for agent_id, pnl in conn.execute(select(m.AgentHistoricalSwap.agent_id,
                                                 m.AgentHistoricalSwap.profit_loss_sol)):
            gap[agent_id] -= pnl
    return {a: (gap[a], fees[a], partials[a]) for a in set(gap) | set(fees)}


def assert_money_conserved(engine: Engine) -> tuple[Decimal, Decimal]:
    """Returns (Σ deposits − withdrawals, Σ fees paid); raises naming the first bad agent."""
    for agent_id, (gap, _, partials) in money_by_agent(engine).items():
        assert abs(gap) <= ROUNDING * partials, (
            f"agent {agent_id}: SOL + cost basis − realized PnL differs from its deposits "
            f"by {gap}")
    t = m.AgentTransaction
    with engine.connect() as conn:
        deposits = conn.execute(select(func.coalesce(func.sum(t.output_amount), 0)).where(
            t.transaction_type == "DEPOSIT", t.output_mint == SOL_MINT)).scalar_one()
        fees = conn.execute(select(func.coalesce(
            func.sum(t.protocol_fee_sol + t.network_fee_sol), 0))).scalar_one()
    return Decimal(deposits), Decimal(fees)


def count_exactly_once(engine: Engine,
                       expected: dict[int, set[uuid.UUID]] | None = None) -> tuple[int, int]:
    """(lost, doubled) over every signal, and against ``expected`` for the signals it names.
    Lost: a signal not processed, an eligible agent without its execution, an execution left
    claimed. Doubled: more executions than eligible agents, more than one trade per (signal,
    agent), a trade no execution points at."""
    lost = doubled = 0
    s, e, t = m.TradingSignal, m.SignalExecution, m.AgentTransaction
    with engine.connect() as conn:
        signals = {r.id: r for r in conn.execute(select(s.id, s.status, s.eligible_agents))}
        rows = list(conn.execute(select(e.signal_id, e.agent_id, e.status, e.reason,
                                        e.transaction_id)))
        trades = Counter((r.signal_id, r.agent_id) for r in conn.execute(
            select(t.signal_id, t.agent_id).where(t.signal_id.is_not(None))))
        trade_ids = set(conn.execute(select(t.id).where(t.signal_id.is_not(None))).scalars())
    per_signal = Counter(r.signal_id for r in rows)
    for sid, sig in signals.items():
        lost += sig.status != "processed"
        lost += max(0, (sig.eligible_agents or 0) - per_signal[sid])
        doubled += max(0, per_signal[sid] - (sig.eligible_agents or 0))
    lost += sum(r.reason == "in_progress" for r in rows)
    doubled += sum(n - 1 for n in trades.values() if n > 1)
    executed = {r.transaction_id for r in rows if r.status == "EXECUTED"}
    lost += sum(r.status == "EXECUTED" and r.transaction_id is None for r in rows)
    doubled += len(trade_ids - executed)
    if expected is not None:
        got = {(r.signal_id, r.agent_id) for r in rows if r.signal_id in expected}
        want = {(sid, a) for sid, agents in expected.items() for a in agents}
        lost += len(want - got)
        doubled += len(got - want)
    return lost, doubled


def assert_invariants(engine: Engine,
                      expected: dict[int, set[uuid.UUID]] | None = None) -> Tally:
    """Every invariant of the chaos suite; returns the tally for the summary line."""
    assert_ledger_invariant(engine)
    deposits, fees = assert_money_conserved(engine)
    lost, doubled = count_exactly_once(engine, expected)
    with engine.connect() as conn:
        n_signals = conn.execute(select(func.count()).select_from(m.TradingSignal)).scalar_one()
        n_exec = conn.execute(select(func.count()).select_from(m.SignalExecution)).scalar_one()
    assert (lost, doubled) == (0, 0), f"lost {lost}, doubled {doubled}"
    return Tally(n_signals, n_exec, lost, doubled, fees, deposits)
