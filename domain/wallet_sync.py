"""Balances from the chain (docs/rules.md §12): what a live wallet holds on chain against what
its ledger says, turned into explicit ledger adjustments — never a silent overwrite.

- SOL: the chain's native SOL, rounded down to the ledger's 8 decimals (the ledger never
  claims a lamport the wallet does not hold), minus the ledger's SOL balance. More on chain
  is a ``DEPOSIT`` row (kind ``deposit``), less is a ``WITHDRAWAL`` row (kind ``withdrawal``).
- Tokens (SPL Token and Token-2022; wrapped SOL is not counted — the ledger's SOL is the
  native balance): a difference is an ``ADJUSTMENT`` row (kind ``unexplained``), tokens in as
  its output, tokens out as its input.
- Tokens out of a token with an open position are charged to the position, as a sale at zero
  proceeds: its remaining amount falls by them (never below zero), the cost basis of the lost
  tokens is realized as a loss, and ``tokens_left`` (tokens that left the wallet since it was
  opened) flags it for the operator (``fleet positions``, ``fleet doctor``).

Every row carries ``adjustment`` (its kind) and ``swap_payload`` ``{"sync": {...}}`` with the
chain slot and the two balances compared. Pure: the handler (workers/handlers/live/sync.py)
reads the chain and the ledger and writes what this returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.ledger import SOL_MINT, SOL_SYMBOL, Transaction
from domain.money import ZERO, in_context, sol, sol_down, tokens_down
from domain.pnl import cost_basis
from domain.positions import Position
from domain.wallets import Wallet

DEPOSIT = "deposit"
WITHDRAWAL = "withdrawal"
UNEXPLAINED = "unexplained"
ADJUSTMENT_KINDS = (DEPOSIT, WITHDRAWAL, UNEXPLAINED)
ADJUSTMENT = "ADJUSTMENT"  # the ledger row type of a token adjustment

# Why a wallet was not compared this round.
SWAP_IN_FLIGHT = "swap_in_flight"  # a live swap of its agent is in flight or just settled
LEDGER_MOVED = "ledger_moved"  # the ledger changed while the chain was read
# A position every token of which left the wallet: nothing to sell (the sweep, a signal and a
# manual close skip it with this reason); the operator writes it off.
TOKENS_LEFT = "tokens_left"


@dataclass(frozen=True)
class ChainBalances:
    """What the chain holds for one wallet at ``slot``: native SOL and each token (UI units,
    exact; every token account of a mint added up; wrapped SOL left out)."""

    wallet_address: str
    slot: int
    sol: Decimal
    tokens: Mapping[str, Decimal]


@dataclass(frozen=True)
class Adjustment:
    kind: str  # deposit / withdrawal / unexplained
    mint: str
    amount: Decimal  # chain − ledger: positive in, negative out
    transaction: Transaction


@dataclass(frozen=True)
class Reconciliation:
    adjustments: tuple[Adjustment, ...]
    positions: tuple[Position, ...]  # the open positions charged with tokens that left

    @property
    def balanced(self) -> bool:
        return not self.adjustments


@in_context
def reconcile(wallet: Wallet, ledger: Mapping[str, Decimal], chain: ChainBalances,
              positions: Sequence[Position], now: datetime) -> Reconciliation:
    """The adjustments that make the ledger hold what the chain holds. ``ledger`` is the
    wallet's balances by mint; ``positions`` its open positions."""
    adjustments: list[Adjustment] = []
    sol_diff = sol_down(chain.sol) - ledger.get(SOL_MINT, ZERO)
    if sol_diff:
        adjustments.append(_adjustment(wallet, SOL_MINT, SOL_SYMBOL, sol_diff, chain,
                                       ledger, now))
    by_token = {p.token_address: p for p in positions}
    charged: list[Position] = []
    for mint in sorted((set(chain.tokens) | set(ledger)) - {SOL_MINT}):
        diff = tokens_down(chain.tokens.get(mint, ZERO)) - ledger.get(mint, ZERO)
        if not diff:
            continue
        position = by_token.get(mint)
        symbol = position.token_symbol if position is not None else None
        adjustments.append(_adjustment(wallet, mint, symbol, diff, chain, ledger, now))
        if diff < 0 and position is not None:
            charged.append(tokens_left(position, -diff, now))
    return Reconciliation(tuple(adjustments), tuple(charged))


def tokens_left(position: Position, amount: Decimal, now: datetime) -> Position:
    """``amount`` tokens left the wallet: a sale at zero proceeds of what the position held
    of them (the cost basis of those tokens is a realized loss), and the flag."""
    lost = min(amount, position.holding)
    basis = cost_basis(position.total_invested_sol, position.purchase_amount, lost)
    return dataclasses.replace(
        position, remaining_amount=position.holding - lost,
        realized_profit_sol=position.realized_profit_sol + sol(ZERO - basis),
        tokens_left=(position.tokens_left or ZERO) + amount, updated_at=now)


def _adjustment(wallet: Wallet, mint: str, symbol: str | None, diff: Decimal,
                chain: ChainBalances, ledger: Mapping[str, Decimal],
                now: datetime) -> Adjustment:
    if mint == SOL_MINT:
        kind, row_type = (DEPOSIT, "DEPOSIT") if diff > 0 else (WITHDRAWAL, "WITHDRAWAL")
    else:
        kind, row_type = UNEXPLAINED, ADJUSTMENT
    held = chain.sol if mint == SOL_MINT else chain.tokens.get(mint, ZERO)
    payload = {"sync": {"slot": chain.slot, "chain": str(held),
                        "ledger": str(ledger.get(mint, ZERO))}}
    tx = Transaction(agent_id=wallet.agent_id, wallet_address=wallet.wallet_address,
                     transaction_type=row_type, transaction_time=now, adjustment=kind,
                     swap_payload=payload)
    if diff > 0:
        tx = dataclasses.replace(tx, output_mint=mint, output_symbol=symbol, output_amount=diff)
    else:
        tx = dataclasses.replace(tx, input_mint=mint, input_symbol=symbol, input_amount=-diff)
    return Adjustment(kind, mint, diff, tx)
