"""The ledger invariant and money conservation, checked after every pipeline test: balances
are the fold of the ledger, never negative, every open position is the fold of its
transactions, and cash + open cost basis = deposits − withdrawals + realized PnL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select

from domain.ledger import SOL_MINT, Transaction, fold_balances
from domain.money import sol
from domain.pnl import cost_basis
from persistence import models as m
from persistence.repositories.ledger import _TX_FIELDS


def assert_ledger_invariant(engine: Engine) -> None:
    with engine.connect() as conn:
        txs = _transactions(conn)
        balances = {(r.wallet_address, r.token_address): r.balance for r in conn.execute(
            select(m.AgentBalance.wallet_address, m.AgentBalance.token_address,
                   m.AgentBalance.balance))}
        positions = list(conn.execute(select(m.AgentPosition)))
    check_ledger(txs, balances, positions)


def check_ledger(txs: list[Transaction], balances: Mapping[tuple[str, str], Decimal],
                 positions: Iterable[Any]) -> None:
    """The ledger invariant over plain values (rows or domain ``Position`` values alike):
    the in-memory fakes' store is checked with the same code as the database."""
    implied = fold_balances(txs)
    for key in set(implied) | set(balances):
        assert balances.get(key, Decimal(0)) == implied.get(key, Decimal(0)), key
        assert balances.get(key, Decimal(0)) >= 0, key
    for p in positions:
        bought, sold, invested = _position_fold(txs, p.wallet_address, p.token_address,
                                                p.created_at)
        assert p.purchase_amount == bought, p.id
        assert (p.remaining_amount if p.remaining_amount is not None else bought) == bought - sold
        assert p.total_invested_sol == invested, p.id


def _transactions(conn: Connection) -> list[Transaction]:
    return [Transaction(**row._asdict()) for row in conn.execute(
        select(*[getattr(m.AgentTransaction, f) for f in _TX_FIELDS]))]


def _position_fold(txs: list[Transaction], wallet: str, token: str,
                   since: object) -> tuple[Decimal, Decimal, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for tx in txs:
        if tx.wallet_address != wallet or tx.transaction_time < since:  # type: ignore[operator]
            continue
        if tx.output_mint == token and tx.input_mint == SOL_MINT:
            sums["bought"] += tx.output_amount or 0
            sums["invested"] += (tx.input_amount or 0) + tx.fees_sol
        elif tx.input_mint == token:
            sums["sold"] += tx.input_amount or 0
    return sums["bought"], sums["sold"], sums["invested"]


def assert_money_conserved(engine: Engine) -> None:
    """Money conservation over all agents, exact in Decimal:

        Σ SOL balances + Σ remaining cost basis of the open positions
            == Σ deposits − Σ withdrawals + Σ realized PnL

    with realized PnL = Σ ``agent_historical_swaps.profit_loss_sol`` + Σ
    ``agent_positions.realized_profit_sol`` (open positions only; a closed position's
    partial PnLs are inside its history row, whose PnL is the cash flow of all its sales).

    Why this holds (``domain/ledger.py``, ``trades.py``): a buy takes ``input + fees`` from
    SOL and adds exactly that to ``total_invested_sol``; a sale adds its net proceeds
    ``output − fees``; a closed position's PnL is Σ net proceeds − total invested. So every
    fee is already counted once, inside a cost basis (buy) or a PnL (sale): adding Σ fees on
    top would count them twice. A take-profit sale keeps ``total_invested_sol`` whole and adds
    ``sol(net − basis)`` to ``realized_profit_sol`` (basis = sold / purchase_amount × invested
    at that moment, replayed here from the ledger, DCA buys included), so the open position's
    remaining cost basis is ``total_invested_sol − Σ (net − realized part)`` of its sales:
    the sold basis as rounded to 8 dp by the partial PnL, which keeps the identity exact.
    Each position's ``realized_profit_sol`` is checked against that replay, too."""
    with engine.connect() as conn:
        txs = _transactions(conn)
        cash = _total(conn.execute(select(m.AgentBalance.balance).where(
            m.AgentBalance.token_address == SOL_MINT)).scalars())
        closed = _total(conn.execute(select(m.AgentHistoricalSwap.profit_loss_sol)).scalars())
        positions = list(conn.execute(select(m.AgentPosition)))
    check_money(txs, cash, closed, positions)


def check_money(txs: list[Transaction], cash: Decimal, closed: Decimal,
                positions: Iterable[Any]) -> None:
    """Money conservation over plain values: ``cash`` = Σ SOL balances, ``closed`` = Σ PnL
    of the closed positions (see ``assert_money_conserved``)."""
    deposits = _total(tx.output_amount or 0 for tx in txs if tx.transaction_type == "DEPOSIT")
    withdrawals = _total(tx.input_amount or 0 for tx in txs
                         if tx.transaction_type == "WITHDRAWAL")
    basis, realized = Decimal(0), closed
    for p in positions:
        replayed, sold_basis = _partial_sales(txs, p.wallet_address, p.token_address,
                                              p.created_at)
        assert p.realized_profit_sol == replayed, p.id
        basis += p.total_invested_sol - sold_basis
        realized += p.realized_profit_sol
    assert cash + basis == deposits - withdrawals + realized, (
        cash, basis, deposits, withdrawals, realized)


def _total(values: Iterable[Decimal | int]) -> Decimal:
    return sum((Decimal(v) for v in values), Decimal(0))


def _partial_sales(txs: list[Transaction], wallet: str, token: str,
                   since: object) -> tuple[Decimal, Decimal]:
    """Replay one open position's rows in time order: (Σ partial PnL, Σ sold cost basis)."""
    bought = invested = realized = sold_basis = Decimal(0)
    mine = [tx for tx in txs if tx.wallet_address == wallet
            and tx.transaction_time >= since]  # type: ignore[operator]
    for tx in sorted(mine, key=lambda tx: tx.transaction_time):
        if tx.output_mint == token and tx.input_mint == SOL_MINT:
            bought += tx.output_amount or 0
            invested += (tx.input_amount or 0) + tx.fees_sol
        elif tx.input_mint == token:
            net = (tx.output_amount or 0) - tx.fees_sol
            part = sol(net - cost_basis(invested, bought, tx.input_amount or Decimal(0)))
            realized += part
            sold_basis += net - part
    return realized, sold_basis
