"""Use cases: an operator deposits SOL into an agent's simulation wallet, or withdraws it.

Each is one ledger row (``DEPOSIT`` / ``WITHDRAWAL``) and its balance change in one
transaction, under the agent's lock (the lock every trade of the agent takes first), so a
withdrawal never races a buy for the same SOL. A withdrawal above the balance is refused
naming the amount available; nothing is written then. Live wallets are refused: their money
moves on the chain and the wallet sync records it (docs/rules.md §12).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import structlog

from domain.errors import InvalidInput
from domain.ledger import SOL_MINT, SOL_SYMBOL, Transaction
from domain.money import sol, to_decimal
from domain.ports import Clock, UnitOfWork
from domain.wallets import Wallet

log = structlog.get_logger(__name__)
MAX_MOVE_SOL = Decimal("1000000000")  # far above any real fleet; keeps every column in range


class InsufficientBalance(InvalidInput):
    """A withdrawal larger than the wallet's SOL balance."""

    def __init__(self, requested: Decimal, available: Decimal) -> None:
        shown = format(sol(available).normalize(), "f")
        super().__init__("amount", f"only {shown} SOL is available (asked {requested})")
        self.available = available


@dataclass(frozen=True)
class Moved:
    transaction_id: uuid.UUID
    wallet_address: str
    amount_sol: Decimal
    balance_sol: Decimal  # the wallet's SOL balance after the move


def parse_amount(text: object, field: str = "amount") -> Decimal:
    """A SOL amount > 0 with at most 8 decimals (the ledger's scale), named ``field``."""
    amount = to_decimal(text, field)
    if amount <= 0:
        raise InvalidInput(field, "must be more than 0 SOL")
    if sol(amount) != amount:
        raise InvalidInput(field, "has more than 8 decimals (1 lamport = 0.000000001 SOL "
                                  "is below the ledger's 0.00000001)")
    if amount > MAX_MOVE_SOL:
        raise InvalidInput(field, f"must be at most {MAX_MOVE_SOL} SOL")
    return amount


def deposit(uow: UnitOfWork, clock: Clock, agent_id: uuid.UUID, amount: object) -> Moved:
    value = parse_amount(amount)
    with uow:
        wallet = _simulation_wallet(uow, agent_id, for_deposit=True)
        tx = Transaction(agent_id=agent_id, wallet_address=wallet.wallet_address,
                         transaction_type="DEPOSIT", transaction_time=clock.now(),
                         output_mint=SOL_MINT, output_symbol=SOL_SYMBOL, output_amount=value)
        moved = _record(uow, clock, tx, value)
    log.info("agent.deposited", agent_id=str(agent_id), amount_sol=str(value))
    return moved


def withdraw(uow: UnitOfWork, clock: Clock, agent_id: uuid.UUID, amount: object) -> Moved:
    value = parse_amount(amount)
    with uow:
        wallet = _simulation_wallet(uow, agent_id, for_deposit=False)
        available = uow.balances.get(wallet.wallet_address, SOL_MINT, for_update=True)
        if value > available:
            raise InsufficientBalance(value, available)
        tx = Transaction(agent_id=agent_id, wallet_address=wallet.wallet_address,
                         transaction_type="WITHDRAWAL", transaction_time=clock.now(),
                         input_mint=SOL_MINT, input_symbol=SOL_SYMBOL, input_amount=value)
        moved = _record(uow, clock, tx, value)
    log.info("agent.withdrew", agent_id=str(agent_id), amount_sol=str(value))
    return moved


def _simulation_wallet(uow: UnitOfWork, agent_id: uuid.UUID, *, for_deposit: bool) -> Wallet:
    """The agent, locked like a trade locks it, and its simulation wallet. A deposit is
    refused for an archived agent and for one trading live (its SOL is on the chain: the
    operator sends it to the live wallet and the wallet sync records it); taking paper SOL
    out of the simulation wallet is always allowed."""
    agent = uow.agents.get_for_update(agent_id)
    if for_deposit and agent.archived_at is not None:
        raise InvalidInput("agent_id", f"agent {agent.name} is archived; deposits are refused")
    if for_deposit and agent.trading_mode == "live":
        raise InvalidInput("agent_id", f"agent {agent.name} trades live: send SOL to its live "
                                       "wallet on chain; the wallet sync records it")
    wallet: Wallet | None = uow.wallets.for_agent(agent_id, "simulation")
    if wallet is None:
        raise InvalidInput("agent_id", f"agent {agent.name} has no simulation wallet")
    return wallet


def _record(uow: UnitOfWork, clock: Clock, tx: Transaction, value: Decimal) -> Moved:
    uow.transactions.add(tx)
    balances = uow.balances.apply(tx.agent_id, tx, clock.now())
    uow.commit()
    return Moved(tx.id, tx.wallet_address, value, balances[SOL_MINT])
