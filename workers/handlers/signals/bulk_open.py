"""The fan-out hot path: open positions for a whole chunk of simulation agents with a
handful of set-based statements. It decides with the same ``domain.entry`` rules and builds
positions with the same ``trades.opening`` as the per-agent path. Agents it does not decide
here (exit signals, a manual buy, an open position to DCA into, live mode, a missing wallet
or price, an invalid config) are left, claimed and locked, for the per-agent path in the same
transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from domain import entry
from domain.entry import Facts, Skip
from domain.errors import InvalidConfig
from domain.ledger import SOL_MINT, Transaction
from domain.ports import PriceQuote, UnitOfWork
from domain.positions import Position
from domain.signals import Signal
from domain.wallets import Wallet
from workers.handlers.shared import buying
from workers.handlers.shared.configs import trading_config
from workers.handlers.shared.deps import Deps
from workers.handlers.shared.trades import Order, Touched, opening
from workers.handlers.signals.agent import Outcome


@dataclass
class Chunk:
    """What the bulk step decided and what it leaves to the per-agent path."""

    decided: list[Outcome] = field(default_factory=list)
    duplicates: list[uuid.UUID] = field(default_factory=list)
    rest: list[uuid.UUID] = field(default_factory=list)
    touched: Touched = field(default_factory=Touched)
    transactions: list[Transaction] = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)


def open_in_bulk(uow: UnitOfWork, signal_id: int, signal: Signal,
                 agent_ids: Sequence[uuid.UUID], quote: PriceQuote | None,
                 deps: Deps) -> Chunk:
    claimed = uow.bulk.claim_executions(signal_id, agent_ids)
    chunk = Chunk(duplicates=[a for a in sorted(set(agent_ids)) if a not in claimed])
    if (deps.vocabulary.is_exit(signal.signal_type) or signal.manual or quote is None
            or not claimed):
        chunk.rest = sorted(claimed)
        return chunk
    locked = uow.bulk.lock_agents(claimed)
    # After the locks: later than every trade these agents waited behind.
    order = Order(quote, deps.clock.now(), chunk.touched, signal_id)
    sim = [a for a, _ in locked.values() if a.trading_mode == "simulation"
           and a.automation_on and a.archived_at is None]  # else: the per-agent path skips it
    wallets: dict[uuid.UUID, Wallet] = uow.bulk.wallets(sim)
    held = uow.bulk.open_positions(list(wallets), signal.token_address)
    fresh = sorted(a for a in wallets if a not in held)
    balances = uow.bulk.balances([wallets[a].wallet_address for a in fresh], SOL_MINT)
    counts = uow.bulk.open_counts(fresh)
    for agent_id in fresh:
        wallet = wallets[agent_id]
        try:
            config = trading_config(locked[agent_id][1])
        except InvalidConfig:
            continue  # the per-agent path records it as FAILED invalid_config
        facts = Facts(config, order.now, price=quote.price_sol,
                      balance=balances.get(wallet.wallet_address, Decimal(0)),
                      open_count=counts.get(agent_id, 0),
                      max_open_positions=deps.policy.max_open_positions)
        _decide(chunk, wallet, facts, (signal.token_address, signal.symbol), deps, order)
    _write(uow, signal_id, chunk, order)
    decided = {o.agent_id for o in chunk.decided}
    chunk.rest = sorted(claimed - decided)
    return chunk


def _decide(chunk: Chunk, wallet: Wallet, facts: Facts, token: tuple[str, str | None],
            deps: Deps, order: Order) -> None:
    decision = entry.decide_entry(facts, deps.policy.rng)
    if isinstance(decision, entry.Dca):
        return  # needs an open position, which these agents lack: left to the per-agent path
    filled = decision if isinstance(decision, Skip) else buying.fill_open(
        deps.paper, wallet.wallet_address, decision.size, order.quote, facts.config,
        facts.balance)
    if isinstance(filled, Skip):
        chunk.decided.append(Outcome(wallet.agent_id, "SKIPPED", "none", filled.reason))
        return
    tx, position = opening(wallet, facts.config, token, filled, order)
    chunk.transactions.append(tx)
    chunk.positions.append(position)
    chunk.decided.append(Outcome(wallet.agent_id, "EXECUTED", "open", None, tx.id))


def _write(uow: UnitOfWork, signal_id: int, chunk: Chunk, order: Order) -> None:
    uow.bulk.add_transactions(chunk.transactions)
    for wallet, values in uow.bulk.apply_balances(chunk.transactions, order.now).items():
        chunk.touched.balance(wallet, values)
    uow.bulk.add_positions(chunk.positions)
    chunk.touched.positions.update({p.id: p for p in chunk.positions})
    results = [(o.agent_id, o.status, o.action, o.reason, o.transaction_id)
               for o in chunk.decided]
    uow.bulk.complete_executions(signal_id, results, order.now)
