"""Profit and loss of sales (docs/rules.md §8, §10): cash-flow PnL in SOL, change % from prices."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.money import HUNDRED, ZERO, change_percent, in_context, percent, sol


@dataclass(frozen=True)
class Pnl:
    sol: Decimal  # 8 dp
    percent: Decimal  # 4 dp
    usd: Decimal | None  # 8 dp; None when no SOL/USD price is known


@in_context
def cost_basis(total_invested_sol: Decimal, purchase_amount: Decimal, tokens: Decimal) -> Decimal:
    """The invested SOL attributable to ``tokens``: tokens / purchase_amount × invested
    (0 when nothing was bought). Not rounded."""
    if purchase_amount <= 0:
        return ZERO
    return tokens / purchase_amount * total_invested_sol


def _usd(pnl_sol: Decimal, sol_usd: Decimal | None) -> Decimal | None:
    return None if sol_usd is None else sol(pnl_sol * sol_usd)


@in_context
def partial_sale(
    total_invested_sol: Decimal,
    purchase_amount: Decimal,
    tokens_sold: Decimal,
    net_proceeds_sol: Decimal,
    avg_price: Decimal,
    sale_price: Decimal,
    sol_usd: Decimal | None,
) -> Pnl:
    """PnL of selling part of a position: net proceeds − the sold tokens' cost basis; the
    percent is the sale price's change from the average (0 when the average is 0)."""
    pnl_sol = sol(net_proceeds_sol - cost_basis(total_invested_sol, purchase_amount, tokens_sold))
    return Pnl(pnl_sol, percent(change_percent(sale_price, avg_price)), _usd(pnl_sol, sol_usd))


@in_context
def full_close(
    total_invested_sol: Decimal,
    total_net_proceeds_sol: Decimal,
    cost_basis_sol: Decimal,
    sol_usd: Decimal | None,
) -> Pnl:
    """PnL of a closed position: Σ net proceeds of all its sales − total invested; percent =
    PnL / cost basis × 100 (0 when the basis is 0)."""
    pnl_sol = sol(total_net_proceeds_sol - total_invested_sol)
    pct = ZERO if cost_basis_sol <= 0 else percent(pnl_sol / cost_basis_sol * HUNDRED)
    return Pnl(pnl_sol, pct, _usd(pnl_sol, sol_usd))


@in_context
def close_cost_basis(avg_price: Decimal, purchase_amount: Decimal) -> Decimal:
    """The basis docs/rules.md §10 divides a close's PnL by: average price × purchase amount."""
    return avg_price * purchase_amount
