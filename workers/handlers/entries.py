"""The per-agent decisions of a signal: open, DCA, skip, or close (SPEC §4, §5, §7)."""

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
from domain.errors import SizingError
from domain.ledger import SOL_MINT
from domain.ports import Fill, PriceQuote, SwapExecutor, UnitOfWork
from domain.positions import Position
from domain.signals import Signal
from domain.wallets import Wallet
from workers.handlers import trades
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
    reason = sizing.buy_precheck(balance, open_count, ctx.config, ctx.max_open_positions)
    if reason is not None:
        return skipped(reason)
    try:
        size = sizing.position_size(balance, ctx.config, ctx.rng).size
    except SizingError as exc:
        return skipped(exc.reason)
    size_ok = _size_within_impact(swaps, signal.token_address, size, quote, ctx.config)
    if size_ok is None:
        return skipped(sizing.PRICE_IMPACT_TOO_HIGH)
    fill = swaps.buy(wallet.wallet_address, signal.token_address, size_ok, quote)
    if not _affordable(fill, balance):
        return skipped(sizing.INSUFFICIENT_BALANCE)
    tx = trades.open_new(uow, ctx.agent, wallet, ctx.config, signal.token_address,
                         signal.symbol, fill, quote, ctx.signal_id, ctx.now, touched)
    return Result("EXECUTED", "open", None, tx.id)


def _size_within_impact(swaps: SwapExecutor, token: str, size: Decimal, quote: PriceQuote,
                        config: TradingConfig) -> Decimal | None:
    """The first size whose quoted price impact is under ``maxPriceImpact`` (SPEC §4.3)."""
    if config.purchase_limits.max_price_impact is None:
        return size
    for candidate in sizing.impact_retry_sizes(size):
        if sizing.impact_acceptable(swaps.price_impact(token, candidate, quote), config):
            return candidate
    return None


def _affordable(fill: Fill, balance: Decimal) -> bool:
    return fill.sol_amount + fill.fees_sol <= balance


def _dca(uow: UnitOfWork, ctx: AgentContext, wallet: Wallet, swaps: SwapExecutor,
         position: Position, quote: PriceQuote, balance: Decimal, touched: Touched) -> Result:
    decision = dca.evaluate(position, quote.price_sol, ctx.config, ctx.now)
    if not decision.triggered:
        return skipped("position_exists")
    fill = swaps.buy(wallet.wallet_address, position.token_address, decision.buy_amount_sol,
                     quote)
    if not _affordable(fill, balance):
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
    fill = swaps.sell(wallet.wallet_address, position.token_address, position.holding, quote)
    trade = trades.close(uow, position, fill, quote, "signal", ctx.signal_id, ctx.now, touched)
    return Result("EXECUTED", "close", None, trade.sale_transaction_id)
