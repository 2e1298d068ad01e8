"""Balance snapshots and per-agent performance (docs/rules.md §14): one formula for the CLI, the
reports and the hourly snapshots. Pure functions over plain values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from domain.money import HUNDRED, ZERO, in_context, percent, sol
from domain.pnl import cost_basis
from domain.positions import Position

PricedPosition = tuple[Position, Decimal | None]  # a position and its fresh price (or None)


@dataclass(frozen=True)
class Snapshot:
    sol_balance: Decimal
    positions_value_sol: Decimal
    unrealized_pnl_sol: Decimal
    portfolio_balance_sol: Decimal


class ClosedTradeResult(Protocol):
    """What performance needs of a closed trade (``domain.ledger.ClosedTrade`` fits)."""

    @property
    def profit_loss_sol(self) -> Decimal: ...

    @property
    def change_percent(self) -> Decimal: ...


@dataclass(frozen=True)
class TradeOutcome:
    """A plain ``ClosedTradeResult`` for callers that only have the two figures."""

    profit_loss_sol: Decimal
    change_percent: Decimal


@dataclass(frozen=True)
class Performance:
    realized_pnl_sol: Decimal
    unrealized_pnl_sol: Decimal
    win_rate_percent: Decimal
    average_return_percent: Decimal
    closed_trades: int
    open_positions: int
    fees_paid_sol: Decimal
    max_drawdown_percent: Decimal


def snapshot_hour(at: datetime) -> datetime:
    """The UTC-hour bucket a snapshot taken at ``at`` (timezone-aware) belongs to."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@in_context
def position_value(position: Position, price: Decimal) -> Decimal:
    """price × holding (holding = remaining ?? purchase amount). Not rounded."""
    return price * position.holding


@in_context
def unrealized_pnl(position: Position, price: Decimal) -> Decimal:
    """price × holding − the invested SOL of the tokens still held. Not rounded."""
    held_cost = cost_basis(position.total_invested_sol, position.purchase_amount, position.holding)
    return position_value(position, price) - held_cost


@in_context
def snapshot(sol_balance: Decimal, positions: Iterable[PricedPosition]) -> Snapshot:
    """A wallet's snapshot figures, rounded to 8 dp. A position without a price is left out:
    its value is unknown and is never guessed."""
    priced = [(p, price) for p, price in positions if price is not None]
    value = sum((position_value(p, price) for p, price in priced), ZERO)
    unrealized = sum((unrealized_pnl(p, price) for p, price in priced), ZERO)
    return Snapshot(sol(sol_balance), sol(value), sol(unrealized), sol(sol_balance + value))


@in_context
def max_drawdown_percent(portfolio_values: Sequence[Decimal]) -> Decimal:
    """The largest fall from a running peak, as a positive percent of that peak (4 dp)."""
    peak: Decimal | None = None
    worst = ZERO
    for value in portfolio_values:
        if peak is None or value > peak:
            peak = value
        elif peak > 0:
            worst = max(worst, (peak - value) / peak * HUNDRED)
    return percent(worst)


@in_context
def performance(
    closed: Sequence[ClosedTradeResult],
    open_positions: Sequence[PricedPosition],
    fees_paid_sol: Iterable[Decimal],
    portfolio_values: Sequence[Decimal],
) -> Performance:
    """Per-agent figures. Realized = Σ closed PnL + Σ ``realized_profit_sol`` of open
    positions; win rate and average return are 0 with no closed trade (nothing to average)."""
    realized = sum((t.profit_loss_sol for t in closed), ZERO) + sum(
        (p.realized_profit_sol for p, _ in open_positions), ZERO
    )
    unrealized = snapshot(ZERO, open_positions).unrealized_pnl_sol
    count = len(closed)
    wins = sum(1 for t in closed if t.profit_loss_sol > 0)
    win_rate = percent(Decimal(wins) / count * HUNDRED) if count else ZERO
    average = percent(sum((t.change_percent for t in closed), ZERO) / count) if count else ZERO
    return Performance(
        realized_pnl_sol=sol(realized),
        unrealized_pnl_sol=unrealized,
        win_rate_percent=win_rate,
        average_return_percent=average,
        closed_trades=count,
        open_positions=len(open_positions),
        fees_paid_sol=sol(sum(fees_paid_sol, ZERO)),
        max_drawdown_percent=max_drawdown_percent(portfolio_values),
    )
