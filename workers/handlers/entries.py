"""The per-agent decisions of a signal: open, DCA, skip, or close (docs/rules.md §3, §6, §10)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain import dca, sizing
from domain.agents import Agent
from domain.config import TradingConfig
from domain.ledger import SOL_MINT
from domain.ports import PriceQuote, SwapExecutor, UnitOfWork
from domain.positions import Position
from domain.signals import Signal
from domain.submissions import CLOSE, DCA, OPEN, SWAP_IN_PROGRESS
from domain.wallets import Wallet
from workers.handlers import buying, trades
from workers.handlers.live_intents import PENDING, LiveSwaps, record_intent
from workers.handlers.trades import Touched

SwapsFor = Callable[[str, str], SwapExecutor | None]


@dataclass(frozen=True)
class AgentContext:
    agent: Agent
    config: TradingConfig
    signal_id: int
    now: datetime
    rng: random.Random
    max_open_positions: int


@dataclass(frozen=True)
class Result:
    status: str
    action: str
    reason: str | None = None
    transaction_id: uuid.UUID | None = None
    submission_id: uuid.UUID | None = None  # a live swap to run after the commit


def skipped(reason: str) -> Result:
    return Result("SKIPPED", "none", reason)


def _wallet_and_swaps(uow: UnitOfWork, agent: Agent,
                      swaps_for: SwapsFor) -> tuple[Wallet, SwapExecutor] | Result:
    wallet: Wallet | None = uow.wallets.for_agent(agent.id, agent.trading_mode)
    if wallet is None:
        return skipped("wallet_not_found")
    swaps = swaps_for(agent.trading_mode, wallet.wallet_address)
    if swaps is None:
        return skipped("wallet_not_loaded")
    return wallet, swaps


def entry_signal(uow: UnitOfWork, ctx: AgentContext, signal: Signal, quote: PriceQuote | None,
                 swaps_for: SwapsFor, touched: Touched) -> Result:
    found = _wallet_and_swaps(uow, ctx.agent, swaps_for)
    if isinstance(found, Result):
        return found
    wallet, swaps = found
    if quote is None:
        return skipped("price_unavailable")
    balance: Decimal = uow.balances.get(wallet.wallet_address, SOL_MINT, for_update=True)
    position = uow.positions.find_open(ctx.agent.id, wallet.wallet_address, signal.token_address,
                                       for_update=True)
    if position is not None:
        return _dca(uow, ctx, wallet, swaps, position, quote, balance, touched)
    open_count = uow.positions.count_open(ctx.agent.id, wallet.wallet_address)
    size = buying.plan_size(ctx.config, balance, open_count, ctx.max_open_positions, ctx.rng)
    if isinstance(size, str):
        return skipped(size)
    if isinstance(swaps, LiveSwaps):  # the price-impact retries run with the live quotes
        return _live(uow, ctx, wallet, OPEN, signal.token_address, signal.symbol, size, quote)
    fill = buying.plan_fill(ctx.config, size, swaps, wallet.wallet_address,
                            signal.token_address, quote, balance)
    if isinstance(fill, str):
        return skipped(fill)
    tx = trades.open_new(uow, ctx.agent, wallet, ctx.config, signal.token_address,
                         signal.symbol, fill, quote, ctx.signal_id, ctx.now, touched)
    return Result("EXECUTED", "open", None, tx.id)


def _dca(uow: UnitOfWork, ctx: AgentContext, wallet: Wallet, swaps: SwapExecutor,
         position: Position, quote: PriceQuote, balance: Decimal, touched: Touched) -> Result:
    decision = dca.evaluate(position, quote.price_sol, ctx.config, ctx.now)
    if not decision.triggered:
        return skipped("position_exists")
    if isinstance(swaps, LiveSwaps):  # fees are not known yet: keep a margin for them
        if decision.buy_amount_sol >= balance:
            return skipped(sizing.INSUFFICIENT_BALANCE)
        return _live(uow, ctx, wallet, DCA, position.token_address, position.token_symbol,
                     decision.buy_amount_sol, quote)
    fill = swaps.buy(wallet.wallet_address, position.token_address, decision.buy_amount_sol,
                     quote)
    if not buying.affordable(fill, balance):
        return skipped(sizing.INSUFFICIENT_BALANCE)
    tx, _ = trades.dca_into(uow, wallet, ctx.config, position, fill, quote, ctx.signal_id,
                            ctx.now, touched)
    return Result("EXECUTED", "dca", None, tx.id)


def exit_signal(uow: UnitOfWork, ctx: AgentContext, signal: Signal, quote: PriceQuote | None,
                swaps_for: SwapsFor, touched: Touched) -> Result:
    found = _wallet_and_swaps(uow, ctx.agent, swaps_for)
    if isinstance(found, Result):
        return found
    wallet, swaps = found
    position = uow.positions.find_open(ctx.agent.id, wallet.wallet_address, signal.token_address,
                                       for_update=True)
    if position is None:
        return skipped("no_position")
    if quote is None:
        return skipped("price_unavailable")
    if isinstance(swaps, LiveSwaps):
        return _live(uow, ctx, wallet, CLOSE, position.token_address, position.token_symbol,
                     position.holding, quote, close_reason="signal")
    fill = swaps.sell(wallet.wallet_address, position.token_address, position.holding, quote)
    trade = trades.close(uow, position, fill, quote, "signal", ctx.signal_id, ctx.now, touched)
    return Result("EXECUTED", "close", None, trade.sale_transaction_id)


def _live(uow: UnitOfWork, ctx: AgentContext, wallet: Wallet, kind: str, token: str,
          symbol: str | None, amount: Decimal, quote: PriceQuote,
          close_reason: str | None = None) -> Result:
    """A live agent: record the swap's intent; ``live.execute`` runs it after the commit.
    One live swap at a time per agent (the balance it was sized on must still hold)."""
    if uow.submissions.in_flight(ctx.agent.id):
        return skipped(SWAP_IN_PROGRESS)
    intent = record_intent(uow, wallet, kind, token, symbol, amount, quote, ctx.signal_id,
                           ctx.now, close_reason)
    return Result(PENDING, kind, None, None, intent.id)
