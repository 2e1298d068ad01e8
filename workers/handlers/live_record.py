"""Phase 3 of a live swap: resolve a submitted signature and write the outcome once.

``resolve`` reads the block height **before** the signature status: a signature still
unknown after the chain passed its last valid block height can never land, so it expires.
Every outcome is written by a guarded status transition in the same transaction as the
ledger rows, so a fill is recorded exactly once however many processes resolve it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_UP, Decimal
from typing import Any

import structlog

from domain.agents import Agent
from domain.config import TradingConfig
from domain.ledger import SOL_MINT, Transaction
from domain.money import CONTEXT, SOL_SCALE
from domain.ports import Clock, Fill, PriceQuote, UnitOfWork
from domain.submissions import (
    BUY_KINDS,
    CLOSE,
    CONFIRMED,
    EXPIRED,
    FAILED,
    SUBMITTED,
    SWAP_EXPIRED,
    SWAP_FAILED,
    SwapSubmission,
)
from domain.wallets import Wallet
from workers.adapters.live_fills import fill_from_meta
from workers.handlers import trades
from workers.handlers.configs import trading_config
from workers.handlers.live_intents import feed_quote
from workers.handlers.trades import Touched

log = structlog.get_logger(__name__)


def sol_up(amount: Decimal) -> Decimal:
    return amount.quantize(SOL_SCALE, rounding=ROUND_UP, context=CONTEXT)


@dataclass(frozen=True)
class RecordDeps:
    uow: Callable[[], UnitOfWork]
    rpc: Any  # get_block_height, get_signature_status, get_transaction (SolanaRpc)
    write_cache: Callable[[Touched], None]
    clock: Clock


def resolve(sub: SwapSubmission, deps: RecordDeps) -> str | None:
    """One check of a submitted swap: its final status once written, None while pending."""
    assert sub.signature is not None and sub.last_valid_block_height is not None
    height = deps.rpc.get_block_height()
    status = deps.rpc.get_signature_status(sub.signature)
    if status is None:
        if height > sub.last_valid_block_height:
            return finish(deps, sub, EXPIRED, "blockhash expired, never landed", SWAP_EXPIRED)
        return None
    if status.failed:  # the network fee was still paid: the ledger records it
        meta = deps.rpc.get_transaction(sub.signature)
        return finish(deps, sub, FAILED, f"on-chain error: {status.err}", SWAP_FAILED,
                      fee_sol=None if meta is None else sol_up(meta.fee_sol))
    return record_landed(sub, deps) if status.landed else None


def finish(deps: RecordDeps, sub: SwapSubmission, status: str, error: str,
           reason: str, expected: str = SUBMITTED, execution_status: str = "FAILED",
           fee_sol: Decimal | None = None) -> str:
    """A swap that did not fill: mark it and complete its execution with ``reason``."""
    now, touched = deps.clock.now(), Touched()
    with deps.uow() as uow:
        if uow.submissions.transition(sub.id, expected, status, now, error=error):
            fee_tx = _record_fee(uow, sub, fee_sol, now, touched)
            if fee_tx is not None:
                uow.submissions.set_transaction(sub.id, fee_tx)
            _complete(uow, sub, execution_status, "none", reason, None, now)
            uow.after_commit(lambda: deps.write_cache(touched))
            uow.commit()
            log.warning("live.swap_not_filled", submission_id=str(sub.id), status=status,
                        reason=reason, signature=sub.signature)
    return status


def record_landed(sub: SwapSubmission, deps: RecordDeps) -> str | None:
    """The signature landed without error: record the confirmed amounts (once)."""
    assert sub.signature is not None
    meta = deps.rpc.get_transaction(sub.signature)
    if meta is None:
        return None  # not served yet: try again on the next poll or reconcile
    quote = (sub.quote or {}).get("jupiter")
    fill = fill_from_meta(sub.side, meta, sub.wallet_address, sub.token_address,
                          sub.signature, quote)
    touched, now = Touched(), deps.clock.now()
    with deps.uow() as uow:
        if not uow.submissions.transition(sub.id, SUBMITTED, CONFIRMED, now):
            return None  # someone else recorded it
        tx_id = _write_fill(uow, sub, fill, now, touched)
        uow.submissions.set_transaction(sub.id, tx_id)
        _complete(uow, sub, "EXECUTED", sub.execution_action, None, tx_id, now)
        uow.after_commit(lambda: deps.write_cache(touched))
        uow.commit()
    log.info("live.swap_confirmed", submission_id=str(sub.id), kind=sub.kind,
             signature=sub.signature, sol=str(fill.sol_amount), tokens=str(fill.token_amount),
             network_fee_sol=str(fill.network_fee_sol))
    return CONFIRMED


def _write_fill(uow: UnitOfWork, sub: SwapSubmission, fill: Fill, now: datetime,
                touched: Touched) -> uuid.UUID:
    agent, stored = uow.agents.lock_with_config(sub.agent_id)
    config: TradingConfig = trading_config(stored)
    quote: PriceQuote = feed_quote(sub.quote)
    position = uow.positions.find_open(sub.agent_id, sub.wallet_address, sub.token_address,
                                       for_update=True)
    if sub.kind in BUY_KINDS:
        return _buy(uow, sub, agent, config, position, fill, quote, now, touched)
    if position is None or sub.kind != CLOSE:
        raise RuntimeError(f"live {sub.kind} {sub.id}: no open position to sell from")
    trade = trades.close(uow, position, fill, quote, sub.close_reason or "signal",
                         sub.signal_id, now, touched)
    return trade.sale_transaction_id


def _buy(uow: UnitOfWork, sub: SwapSubmission, agent: Agent, config: TradingConfig,
         position: Any, fill: Fill, quote: PriceQuote, now: datetime,
         touched: Touched) -> uuid.UUID:
    wallet = Wallet(sub.wallet_address, sub.agent_id, "live")
    if position is None:
        return trades.open_new(uow, agent, wallet, config, sub.token_address, sub.token_symbol,
                               fill, quote, sub.signal_id, now, touched).id
    tx, _ = trades.dca_into(uow, wallet, config, position, fill, quote, sub.signal_id, now,
                            touched)
    return tx.id


def _record_fee(uow: UnitOfWork, sub: SwapSubmission, fee_sol: Decimal | None,
                now: datetime, touched: Touched) -> uuid.UUID | None:
    """The network fee of a transaction that landed with an error (a fee-only SWAP row)."""
    if not fee_sol or uow.balances.get(sub.wallet_address, SOL_MINT, for_update=True) < fee_sol:
        return None
    tx = Transaction(agent_id=sub.agent_id, wallet_address=sub.wallet_address,
                     transaction_type="SWAP", transaction_time=now, network_fee_sol=fee_sol,
                     transaction_hash=sub.signature, signal_id=sub.signal_id,
                     swap_payload={"mode": "live", "failed": True, "signature": sub.signature})
    trades.record(uow, tx, now, touched)
    return tx.id


def _complete(uow: UnitOfWork, sub: SwapSubmission, status: str, action: str,
              reason: str | None, tx_id: uuid.UUID | None, now: datetime) -> None:
    if sub.signal_id is not None:
        uow.executions.complete(sub.signal_id, sub.agent_id, status=status, action=action,
                                reason=reason, transaction_id=tx_id, now=now)
