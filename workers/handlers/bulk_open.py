"""The fan-out hot path: open positions for a whole chunk of simulation agents with a
handful of set-based statements. Agents it does not decide here (exit signals, an open
position to DCA into, live mode, a missing wallet or price) are left, claimed and locked,
for the per-agent path in the same transaction."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from domain.errors import InvalidConfig
from domain.ledger import SOL_MINT, Transaction
from domain.ports import Clock, PriceQuote, SwapExecutor, UnitOfWork
from domain.positions import Position, open_position
from domain.signals import Signal
from domain.wallets import Wallet
from workers.handlers import buying
from workers.handlers.configs import trading_config
from workers.handlers.trades import Touched, buy_transaction

Decided = tuple[uuid.UUID, str, str, str | None, uuid.UUID | None]


@dataclass
class Chunk:
    """What the bulk step decided and what it leaves to the per-agent path."""

    decided: list[Decided] = field(default_factory=list)
    duplicates: list[uuid.UUID] = field(default_factory=list)
    rest: list[uuid.UUID] = field(default_factory=list)


def open_in_bulk(uow: UnitOfWork, signal_id: int, signal: Signal,
                 agent_ids: Sequence[uuid.UUID], quote: PriceQuote | None,
                 swaps_for: Callable[[str, str], SwapExecutor | None],
                 rng: random.Random, max_positions: int,
                 clock: Clock, touched: Touched) -> Chunk:
    claimed = uow.bulk.claim_executions(signal_id, agent_ids)
    chunk = Chunk(duplicates=[a for a in sorted(set(agent_ids)) if a not in claimed])
    if signal.is_exit or quote is None or not claimed:
        chunk.rest = sorted(claimed)
        return chunk
    locked = uow.bulk.lock_agents(claimed)
    now = clock.now()  # after the locks: later than every trade these agents waited behind
    sim = [a for a, _ in locked.values() if a.trading_mode == "simulation"]
    wallets: dict[uuid.UUID, Wallet] = uow.bulk.wallets(sim)
    held = uow.bulk.open_positions(list(wallets), signal.token_address)
    fresh = sorted(a for a in wallets if a not in held)
    balances = uow.bulk.balances([wallets[a].wallet_address for a in fresh], SOL_MINT)
    counts = uow.bulk.open_counts(fresh)
    txs: list[Transaction] = []
    positions: list[Position] = []
    for agent_id in fresh:
        wallet = wallets[agent_id]
        swaps = swaps_for("simulation", wallet.wallet_address)
        try:
            config = trading_config(locked[agent_id][1])
        except InvalidConfig:
            continue  # the per-agent path records it as FAILED invalid_config
        if swaps is None:
            continue
        balance = balances.get(wallet.wallet_address, Decimal(0))
        size = buying.plan_size(config, balance, counts.get(agent_id, 0), max_positions, rng)
        plan = size if isinstance(size, str) else buying.plan_fill(
            config, size, swaps, wallet.wallet_address, signal.token_address, quote, balance)
        if isinstance(plan, str):
            chunk.decided.append((agent_id, "SKIPPED", "none", plan, None))
            continue
        tx = buy_transaction(wallet, signal.token_address, signal.symbol, plan, quote, now,
                             signal_id)
        txs.append(tx)
        positions.append(open_position(
            id=uuid.uuid4(), agent_id=agent_id, wallet_address=wallet.wallet_address,
            token_address=signal.token_address, token_symbol=signal.symbol,
            purchase_transaction_id=tx.id, sol_swapped=plan.sol_amount,
            tokens_received=plan.token_amount, fees_sol=plan.fees_sol,
            stop_loss_percentage=config.stop_loss.default_percentage, now=now))
        chunk.decided.append((agent_id, "EXECUTED", "open", None, tx.id))
    _write(uow, signal_id, chunk.decided, txs, positions, now, touched)
    decided = {d[0] for d in chunk.decided}
    chunk.rest = sorted(claimed - decided)
    return chunk


def _write(uow: UnitOfWork, signal_id: int, decided: list[Decided], txs: list[Transaction],
           positions: list[Position], now: datetime, touched: Touched) -> None:
    uow.bulk.add_transactions(txs)
    for wallet, values in uow.bulk.apply_balances(txs, now).items():
        touched.balance(wallet, values)
    uow.bulk.add_positions(positions)
    touched.positions.update({p.id: p for p in positions})
    uow.bulk.complete_executions(signal_id, decided, now)
