"""Use case: per-agent performance (``fleet report``, docs/rules.md §14), with the one formula
of ``domain.performance``. Reads only; prices come from the feed after the read closes.

A position without a price (the feed has none, or the feed is unreachable) is never guessed:
its value and unrealized PnL are unknown (``None``), the agent's unrealized figure sums the
priced positions only, and ``unpriced`` names the others. The rest of the report stands."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import structlog

from domain import performance
from domain.agents import Agent
from domain.errors import DomainError
from domain.ledger import ClosedTrade
from domain.money import percent, sol
from domain.ports import PriceFeed, PriceQuote, UnitOfWork
from domain.positions import Position
from workers.handlers.shared.deps import Deps

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PositionValue:
    """An open position as the report sees it; price and unrealized are None when unknown."""

    position_id: uuid.UUID
    token_address: str
    token_symbol: str | None
    holding: Decimal
    invested_sol: Decimal
    price_sol: Decimal | None
    value_sol: Decimal | None
    unrealized_pnl_sol: Decimal | None


@dataclass(frozen=True)
class AgentReport:
    agent_id: uuid.UUID
    name: str
    performance: performance.Performance  # unrealized: the priced positions only
    positions: tuple[PositionValue, ...] = ()

    @property
    def unpriced(self) -> tuple[str, ...]:
        """The open positions whose unrealized PnL is unknown (symbol, or mint)."""
        return tuple(p.token_symbol or p.token_address for p in self.positions
                     if p.price_sol is None)


@dataclass(frozen=True)
class EquityPoint:
    hour: datetime
    portfolio_balance_sol: Decimal  # Σ over the agent's wallets of that hour's snapshot
    net_deposits_sol: Decimal = Decimal(0)  # deposits − withdrawals up to then (the baseline)

    @property
    def return_percent(self) -> Decimal | None:
        """(portfolio − net deposits) / net deposits × 100; None with nothing deposited."""
        if self.net_deposits_sol <= 0:
            return None
        return percent((self.portfolio_balance_sol - self.net_deposits_sol)
                       / self.net_deposits_sol * 100)


@dataclass(frozen=True)
class TradePnl:
    sale_time: datetime
    label: str  # token symbol (or a short mint)
    profit_loss_sol: Decimal


@dataclass(frozen=True)
class ReportSeries:
    """What ``fleet report --plot`` draws: each agent's equity curve (its first deposit, then
    the hourly snapshots as stored) with the net-deposit baseline under it, and every closed
    trade's PnL at its sale time."""

    equity: dict[str, list[EquityPoint]]  # "name (short id)" → curve, in time order
    trades: list[TradePnl]  # every reported agent's closed trades, by sale time


@dataclass(frozen=True)
class _Inputs:
    agent: Agent
    closed: list[ClosedTrade]
    positions: Sequence[Position]
    fees: list[Decimal]
    portfolio: list[Decimal]


def report(agent_id: uuid.UUID | None, since: datetime | None, deps: Deps, *,
           user_id: uuid.UUID | None = None) -> list[AgentReport]:
    """Every agent's figures (or one agent's; ``user_id`` keeps one user's agents);
    ``since`` limits closed trades, fees and the drawdown window, open positions are now."""
    with deps.uow() as uow:
        inputs = [_inputs(uow, agent, since) for agent in _agents(uow, agent_id, user_id)]
    quotes = _quotes(deps.prices, sorted({p.token_address for i in inputs for p in i.positions}))
    return [AgentReport(i.agent.id, i.agent.name, _performance(i, quotes),
                        tuple(_value(p, quotes) for p in i.positions)) for i in inputs]


def _agents(uow: UnitOfWork, agent_id: uuid.UUID | None,
            user_id: uuid.UUID | None) -> Sequence[Agent]:
    if agent_id is not None:
        return [uow.agents.get(agent_id)]
    found: Sequence[Agent] = uow.agents.all() if user_id is None else uow.agents.all(user_id)
    return found


def _quotes(feed: PriceFeed, tokens: list[str]) -> Mapping[str, PriceQuote]:
    """The feed's prices; an unreachable feed leaves every position unpriced, not the
    whole report failed."""
    if not tokens:
        return {}
    try:
        return feed.get_prices(tokens)
    except DomainError as exc:
        log.warning("report.prices_unavailable", tokens=len(tokens), error=str(exc)[:200])
        return {}


def _value(p: Position, quotes: Mapping[str, PriceQuote]) -> PositionValue:
    quote = quotes.get(p.token_address)
    if quote is None:
        return PositionValue(p.id, p.token_address, p.token_symbol, p.holding,
                             p.total_invested_sol, None, None, None)
    return PositionValue(p.id, p.token_address, p.token_symbol, p.holding,
                         p.total_invested_sol, quote.price_sol,
                         sol(performance.position_value(p, quote.price_sol)),
                         sol(performance.unrealized_pnl(p, quote.price_sol)))


def _inputs(uow: UnitOfWork, agent: Agent, since: datetime | None) -> _Inputs:
    closed = _closed(uow, agent.id, since)
    fees = [t.fees_sol for t in uow.transactions.for_agent(agent.id)
            if since is None or t.transaction_time >= since]
    curve = _equity(uow, agent.id, since)
    return _Inputs(agent, closed, uow.positions.list_open(agent_id=agent.id), fees,
                   [point.portfolio_balance_sol for point in curve])


def _closed(uow: UnitOfWork, agent_id: uuid.UUID,
            since: datetime | None) -> list[ClosedTrade]:
    return [t for t in uow.history.for_agent(agent_id) if since is None or t.sale_time >= since]


def _equity(uow: UnitOfWork, agent_id: uuid.UUID,
            since: datetime | None) -> list[EquityPoint]:
    """The agent's portfolio per snapshot hour, every wallet summed (the drawdown input)."""
    by_hour: dict[datetime, Decimal] = defaultdict(Decimal)
    for stored in uow.snapshots.for_agent(agent_id, since):
        by_hour[stored.snapshot_timestamp] += stored.snapshot.portfolio_balance_sol
    return [EquityPoint(hour, by_hour[hour]) for hour in sorted(by_hour)]


def report_series(agent_id: uuid.UUID | None, since: datetime | None,
                  deps: Deps) -> ReportSeries:
    """The series behind ``report`` (same agents, same ``since`` window), for the plot."""
    with deps.uow() as uow:
        agents = _agents(uow, agent_id, None)
        equity = {_name(a): _curve(uow, a.id, since) for a in agents}
        closed = [t for a in agents for t in _closed(uow, a.id, since)]
    trades = [TradePnl(t.sale_time, t.token_symbol or t.token_address[:6], t.profit_loss_sol)
              for t in sorted(closed, key=lambda t: t.sale_time)]
    return ReportSeries(equity, trades)


def _curve(uow: UnitOfWork, agent_id: uuid.UUID,
           since: datetime | None) -> list[EquityPoint]:
    """The snapshots, after the agent's first deposit (its equity then is what it was given:
    the curve starts at once, not at the first snapshot), each with the baseline then."""
    flows = _net_deposits(uow, agent_id)
    points = _equity(uow, agent_id, since)
    if flows and (since is None or flows[0][0] >= since) and (
            not points or flows[0][0] < points[0].hour):
        points.insert(0, EquityPoint(flows[0][0], flows[0][1]))
    return [EquityPoint(p.hour, p.portfolio_balance_sol, _baseline(flows, p.hour))
            for p in points]


def _net_deposits(uow: UnitOfWork, agent_id: uuid.UUID) -> list[tuple[datetime, Decimal]]:
    """(time, deposits − withdrawals so far) after each deposit or withdrawal."""
    total, out = Decimal(0), []
    for tx in uow.transactions.for_agent(agent_id):
        if tx.transaction_type in ("DEPOSIT", "WITHDRAWAL"):
            total += sum(tx.balance_changes().values(), Decimal(0))
            out.append((tx.transaction_time, total))
    return out


def _baseline(flows: list[tuple[datetime, Decimal]], at: datetime) -> Decimal:
    before = [net for when, net in flows if when <= at]
    return before[-1] if before else Decimal(0)


def _name(agent: Agent) -> str:
    return f"{agent.name} ({str(agent.id)[:8]})"


def _performance(i: _Inputs, quotes: Mapping[str, PriceQuote]) -> performance.Performance:
    priced = [(p, quotes[p.token_address].price_sol if p.token_address in quotes else None)
              for p in i.positions]
    return performance.performance(i.closed, priced, i.fees, i.portfolio)
