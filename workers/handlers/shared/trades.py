"""The write path of a trade: one ledger row, its balance changes, and the position change,
all inside the caller's transaction. Shared by signal execution, the sweeps, manual closes
and live fills (docs/rules.md §5, §6, §8, §10)."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from domain import dca as dca_rules
from domain import pnl, take_profit
from domain.config import TradingConfig, take_profit_levels
from domain.exits import TAKE_PROFIT
from domain.ledger import SOL_MINT, SOL_SYMBOL, ClosedTrade, Transaction
from domain.money import percent, price, sol
from domain.ports import Fill, PriceQuote, UnitOfWork
from domain.positions import Position, open_position
from domain.wallets import Wallet


@dataclass
class Touched:
    """What a transaction changed, for the after-commit cache write-through."""

    balances: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    positions: dict[uuid.UUID, Position] = field(default_factory=dict)
    closed: list[tuple[uuid.UUID, str]] = field(default_factory=list)

    def balance(self, wallet: str, new: dict[str, Decimal]) -> None:
        self.balances.setdefault(wallet, {}).update(new)

    def merge(self, other: Touched) -> None:
        for wallet, values in other.balances.items():
            self.balance(wallet, values)
        for agent_id, token in other.closed:
            self.positions = {k: p for k, p in self.positions.items()
                              if (p.agent_id, p.token_address) != (agent_id, token)}
        self.positions.update(other.positions)
        self.closed.extend(other.closed)


@dataclass(frozen=True)
class Order:
    """The circumstances of one trade: the price it was decided at, the signal that caused
    it (None for sweeps and operators), when, and where its cache changes are collected."""

    quote: PriceQuote
    now: datetime
    touched: Touched
    signal_id: int | None = None


def _usd(amount_sol: Decimal, quote: PriceQuote) -> Decimal | None:
    if quote.price_usd is None or quote.price_sol <= 0:
        return None
    return sol(amount_sol / quote.price_sol * quote.price_usd)


def buy_transaction(wallet: Wallet, token: tuple[str, str | None], fill: Fill, order: Order,
                    is_dca: bool = False) -> Transaction:
    """A buy's ledger row; ``token`` is (mint, symbol)."""
    return Transaction(
        agent_id=wallet.agent_id, wallet_address=wallet.wallet_address, transaction_type="SWAP",
        transaction_time=order.now, input_mint=SOL_MINT, input_symbol=SOL_SYMBOL,
        input_amount=fill.sol_amount, input_price=Decimal(1), output_mint=token[0],
        output_symbol=token[1], output_amount=fill.token_amount,
        output_price=price(fill.sol_amount / fill.token_amount),
        protocol_fee_sol=fill.protocol_fee_sol, network_fee_sol=fill.network_fee_sol,
        transaction_value_usd=_usd(fill.sol_amount, order.quote), slippage=fill.slippage,
        price_impact=fill.price_impact, transaction_hash=fill.transaction_hash,
        swap_payload=fill.swap_payload, routes=fill.routes, signal_id=order.signal_id,
        is_dca=is_dca)


def sell_transaction(position: Position, fill: Fill, order: Order,
                     is_take_profit: bool = False) -> Transaction:
    return Transaction(
        agent_id=position.agent_id, wallet_address=position.wallet_address,
        transaction_type="SWAP", transaction_time=order.now, input_mint=position.token_address,
        input_symbol=position.token_symbol, input_amount=fill.token_amount,
        input_price=price(fill.sol_amount / fill.token_amount), output_mint=SOL_MINT,
        output_symbol=SOL_SYMBOL, output_amount=fill.sol_amount, output_price=Decimal(1),
        protocol_fee_sol=fill.protocol_fee_sol, network_fee_sol=fill.network_fee_sol,
        transaction_value_usd=_usd(fill.sol_amount, order.quote), slippage=fill.slippage,
        price_impact=fill.price_impact, transaction_hash=fill.transaction_hash,
        swap_payload=fill.swap_payload, routes=fill.routes,
        signal_id=order.signal_id, is_take_profit=is_take_profit)


def record(uow: UnitOfWork, tx: Transaction, now: datetime, touched: Touched) -> None:
    uow.transactions.add(tx)
    touched.balance(tx.wallet_address, uow.balances.apply(tx.agent_id, tx, now))


def opening(wallet: Wallet, config: TradingConfig, token: tuple[str, str | None], fill: Fill,
            order: Order) -> tuple[Transaction, Position]:
    """The ledger row and the new position of an opening buy (the bulk and the per-agent
    paths both build them here). ``token`` is (mint, symbol)."""
    tx = buy_transaction(wallet, token, fill, order)
    position = open_position(
        id=uuid.uuid4(), agent_id=wallet.agent_id, wallet_address=wallet.wallet_address,
        token_address=token[0], token_symbol=token[1], purchase_transaction_id=tx.id,
        sol_swapped=fill.sol_amount, tokens_received=fill.token_amount, fees_sol=fill.fees_sol,
        stop_loss_percentage=config.stop_loss.default_percentage, now=order.now)
    return tx, position


def open_new(uow: UnitOfWork, wallet: Wallet, config: TradingConfig,
             token: tuple[str, str | None], fill: Fill, order: Order) -> Transaction:
    tx, position = opening(wallet, config, token, fill, order)
    record(uow, tx, order.now, order.touched)
    uow.positions.add(position)
    order.touched.positions[position.id] = position
    return tx


def dca_into(uow: UnitOfWork, wallet: Wallet, config: TradingConfig, position: Position,
             fill: Fill, order: Order) -> tuple[Transaction, Position]:
    now, touched = order.now, order.touched
    tx = buy_transaction(wallet, (position.token_address, position.token_symbol), fill, order,
                         is_dca=True)
    record(uow, tx, now, touched)
    levels = len(take_profit_levels(config).levels)
    updated = dca_rules.apply_fill(position, fill.sol_amount, fill.token_amount, levels, now,
                                   fees_sol=fill.fees_sol)
    uow.positions.update(updated)
    touched.positions[updated.id] = updated
    return tx, updated


def close(uow: UnitOfWork, position: Position, fill: Fill, reason: str,
          order: Order) -> ClosedTrade:
    """Sell the whole holding: sale row, balances, history row with cash-flow PnL, delete."""
    tx = sell_transaction(position, fill, order)
    record(uow, tx, order.now, order.touched)
    return archive(uow, position, tx, reason, order)


def archive(uow: UnitOfWork, position: Position, sale: Transaction, reason: str,
            order: Order) -> ClosedTrade:
    """Move a position whose last sale is recorded to history (cash-flow PnL from the
    ledger: Σ net proceeds of its sales − total invested) and delete it."""
    quote, now, signal_id, touched = order.quote, order.now, order.signal_id, order.touched
    proceeds = uow.transactions.sale_proceeds(position.wallet_address, position.token_address,
                                              position.created_at)
    basis = pnl.close_cost_basis(position.purchase_price, position.purchase_amount)
    sol_usd = None if quote.price_usd is None or quote.price_sol <= 0 else (
        quote.price_usd / quote.price_sol)
    result = pnl.full_close(position.total_invested_sol, proceeds, basis, sol_usd)
    sale_price = sale.input_price if sale.input_price is not None else price(quote.price_sol)
    trade = ClosedTrade(
        agent_id=position.agent_id, wallet_address=position.wallet_address,
        token_address=position.token_address, token_symbol=position.token_symbol,
        amount=position.purchase_amount, purchase_price=position.purchase_price,
        sale_price=sale_price, change_percent=percent(result.percent),
        profit_loss_sol=result.sol, profit_loss_usd=result.usd,
        purchase_time=position.created_at, sale_time=now,
        purchase_transaction_id=position.purchase_transaction_id, sale_transaction_id=sale.id,
        signal_id=signal_id, close_reason=reason)
    uow.history.add(trade)
    uow.positions.delete(position.id)
    touched.closed.append((position.agent_id, position.token_address))
    touched.positions.pop(position.id, None)
    return trade


def take_profit_sale(uow: UnitOfWork, position: Position,
                     decision: take_profit.TakeProfitDecision, fill: Fill,
                     order: Order) -> Transaction:
    """A take-profit sale (``is_take_profit``): the sale row, its balance changes and the
    position's new ladder state; a sale that leaves dust and no moon bag closes the position
    (``take_profit``). The amounts follow the fill."""
    tx = sell_transaction(position, fill, order, is_take_profit=True)
    record(uow, tx, order.now, order.touched)
    sold = dataclasses.replace(decision, sell_amount=fill.token_amount,
                               new_remaining=position.holding - fill.token_amount)
    updated = take_profit.apply_sale(position, sold, fill.sol_amount - fill.fees_sol, order.now)
    if updated.holding < take_profit.DUST and not updated.moon_bag_activated:
        archive(uow, updated, tx, TAKE_PROFIT, order)
    else:
        uow.positions.update(updated)
        order.touched.positions[updated.id] = updated
    return tx
