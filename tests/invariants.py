"""The ledger invariant, checked after every pipeline test: balances are the fold of the
ledger, never negative, and every open position is the fold of its transactions."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import Engine, select

from domain.ledger import SOL_MINT, Transaction, fold_balances
from persistence import models as m
from persistence.repositories.ledger import _TX_FIELDS


def assert_ledger_invariant(engine: Engine) -> None:
    with engine.connect() as conn:
        txs = [Transaction(**row._asdict()) for row in conn.execute(
            select(*[getattr(m.AgentTransaction, f) for f in _TX_FIELDS]))]
        balances = {(r.wallet_address, r.token_address): r.balance for r in conn.execute(
            select(m.AgentBalance.wallet_address, m.AgentBalance.token_address,
                   m.AgentBalance.balance))}
        positions = list(conn.execute(select(m.AgentPosition)))
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
