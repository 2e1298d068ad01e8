"""Use case: per-agent performance (``fleet report``, SPEC §10), with the one formula of
``domain.performance``. Reads only; prices come from the feed after the read closes."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain import performance
from domain.agents import Agent
from domain.ledger import ClosedTrade
from domain.ports import PriceFeed, PriceQuote
from domain.positions import Position
from workers.handlers.prices import PricesUnitOfWork


@dataclass(frozen=True)
class ReportDeps:
    uow: Callable[[], PricesUnitOfWork]
    prices: PriceFeed


@dataclass(frozen=True)
class AgentReport:
    agent_id: uuid.UUID
    name: str
    performance: performance.Performance


@dataclass(frozen=True)
class EquityPoint:
    hour: datetime
    portfolio_balance_sol: Decimal  # Σ over the agent's wallets of that hour's snapshot


@dataclass(frozen=True)
class TradePnl:
    sale_time: datetime
    label: str  # token symbol (or a short mint)
    profit_loss_sol: Decimal


@dataclass(frozen=True)
class ReportSeries:
    """What ``fleet report --plot`` draws: each agent's equity curve and every closed trade's
    PnL, both as stored (no figure is recomputed here)."""

    equity: dict[str, list[EquityPoint]]  # "name (short id)" → curve, in time order
    trades: list[TradePnl]  # every reported agent's closed trades, by sale time


@dataclass(frozen=True)
class _Inputs:
    agent: Agent
    closed: list[ClosedTrade]
    positions: Sequence[Position]
    fees: list[Decimal]
    portfolio: list[Decimal]


def report(agent_id: uuid.UUID | None, since: datetime | None,
           deps: ReportDeps) -> list[AgentReport]:
    """Every agent's figures (or one agent's); ``since`` limits closed trades, fees and the
    drawdown window, open positions are always now."""
    with deps.uow() as uow:
        agents: Sequence[Agent] = [uow.agents.get(agent_id)] if agent_id else uow.agents.all()
        inputs = [_inputs(uow, agent, since) for agent in agents]
    tokens = sorted({p.token_address for i in inputs for p in i.positions})
    quotes = deps.prices.get_prices(tokens) if tokens else {}
    return [AgentReport(i.agent.id, i.agent.name, _performance(i, quotes)) for i in inputs]


def _inputs(uow: PricesUnitOfWork, agent: Agent, since: datetime | None) -> _Inputs:
    closed = _closed(uow, agent.id, since)
    fees = [t.fees_sol for t in uow.transactions.for_agent(agent.id)
            if since is None or t.transaction_time >= since]
    curve = _equity(uow, agent.id, since)
    return _Inputs(agent, closed, uow.positions.list_open(agent_id=agent.id), fees,
                   [point.portfolio_balance_sol for point in curve])


def _closed(uow: PricesUnitOfWork, agent_id: uuid.UUID,
            since: datetime | None) -> list[ClosedTrade]:
    return [t for t in uow.history.for_agent(agent_id) if since is None or t.sale_time >= since]


def _equity(uow: PricesUnitOfWork, agent_id: uuid.UUID,
            since: datetime | None) -> list[EquityPoint]:
    """The agent's portfolio per snapshot hour, every wallet summed (the drawdown input)."""
    by_hour: dict[datetime, Decimal] = defaultdict(Decimal)
    for stored in uow.snapshots.for_agent(agent_id, since):
        by_hour[stored.snapshot_timestamp] += stored.snapshot.portfolio_balance_sol
    return [EquityPoint(hour, by_hour[hour]) for hour in sorted(by_hour)]


def report_series(agent_id: uuid.UUID | None, since: datetime | None,
                  deps: ReportDeps) -> ReportSeries:
    """The series behind ``report`` (same agents, same ``since`` window), for the plot."""
    with deps.uow() as uow:
        agents: Sequence[Agent] = [uow.agents.get(agent_id)] if agent_id else uow.agents.all()
        equity = {_name(a): _equity(uow, a.id, since) for a in agents}
        closed = [t for a in agents for t in _closed(uow, a.id, since)]
    trades = [TradePnl(t.sale_time, t.token_symbol or t.token_address[:6], t.profit_loss_sol)
              for t in sorted(closed, key=lambda t: t.sale_time)]
    return ReportSeries(equity, trades)


def _name(agent: Agent) -> str:
    return f"{agent.name} ({str(agent.id)[:8]})"


def _performance(i: _Inputs, quotes: Mapping[str, PriceQuote]) -> performance.Performance:
    priced = [(p, quotes[p.token_address].price_sol if p.token_address in quotes else None)
              for p in i.positions]
    return performance.performance(i.closed, priced, i.fees, i.portfolio)
