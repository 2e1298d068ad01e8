"""Phase 3 of a live swap: resolve a submitted signature and write the outcome once
(docs/rules.md §12).

``resolve`` reads the block height **before** the signature status: a signature still
unknown after the chain passed its last valid block height can never land, so it expires.
Every outcome is written by a guarded status transition in the same transaction as the
ledger rows, so a fill is recorded exactly once however many processes resolve it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial

import structlog

from domain.config import TradingConfig
from domain.ledger import SOL_MINT, Transaction
from domain.ports import Fill, UnitOfWork
from domain.submissions import (
    BUY_KINDS,
    CLOSE,
    CONFIRMED,
    EXPIRED,
    FAILED,
    SELL,
    SUBMITTED,
    SWAP_EXPIRED,
    SWAP_FAILED,
    SwapSubmission,
)
from domain.wallets import Wallet
from workers.handlers.live.intents import feed_quote, stored_take_profit
from workers.handlers.shared import trades
from workers.handlers.shared.configs import trading_config
from workers.handlers.shared.deps import Deps
from workers.handlers.shared.trades import Order, Touched

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Ending:
    """How a swap that did not fill ends: its submission status and error, the execution's
    reason and status, the status it must leave, and the network fee it paid (if any)."""

    status: str
    error: str
    reason: str
    expected: str = SUBMITTED
    execution_status: str = "FAILED"
    fee_sol: Decimal | None = None


def resolve(sub: SwapSubmission, deps: Deps) -> str | None:
    """One check of a submitted swap: its final status once written, None while pending."""
    assert sub.signature is not None and sub.last_valid_block_height is not None
    height = deps.venue.block_height()
    status = deps.venue.status(sub.signature)
    if status is None:
        if height > sub.last_valid_block_height:
            return finish(deps, sub, Ending(EXPIRED, "blockhash expired, never landed",
                                            SWAP_EXPIRED))
        return None
    if status.failed:  # the network fee was still paid: the ledger records it
        fee = deps.venue.network_fee(sub.signature)
        return finish(deps, sub, Ending(FAILED, f"on-chain error: {status.error}", SWAP_FAILED,
                                        fee_sol=fee))
    return record_landed(sub, deps) if status.landed else None


def finish(deps: Deps, sub: SwapSubmission, end: Ending) -> str:
    """A swap that did not fill: mark it and complete its execution with the reason."""
    now, touched = deps.clock.now(), Touched()
    with deps.uow() as uow:
        if uow.submissions.transition(sub.id, end.expected, end.status, now, error=end.error):
            fee_tx = _record_fee(uow, sub, end.fee_sol, now, touched)
            if fee_tx is not None:
                uow.submissions.set_transaction(sub.id, fee_tx)
            _complete(uow, sub, (end.execution_status, "none", end.reason, None), now)
            uow.after_commit(partial(deps.write_cache, touched))
            uow.commit()
            log.warning("live.swap_not_filled", submission_id=str(sub.id), status=end.status,
                        reason=end.reason, signature=sub.signature)
    return end.status


def record_landed(sub: SwapSubmission, deps: Deps) -> str | None:
    """The signature landed without error: record the confirmed amounts (once)."""
    fill = deps.venue.fill(sub)
    if fill is None:
        return None  # not served yet: try again on the next poll or reconcile
    touched, now = Touched(), deps.clock.now()
    with deps.uow() as uow:
        if not uow.submissions.transition(sub.id, SUBMITTED, CONFIRMED, now):
            return None  # someone else recorded it
        tx_id = _write_fill(uow, sub, fill, Order(feed_quote(sub.quote), now, touched,
                                                  sub.signal_id))
        uow.submissions.set_transaction(sub.id, tx_id)
        _complete(uow, sub, ("EXECUTED", sub.execution_action, None, tx_id), now)
        uow.after_commit(partial(deps.write_cache, touched))
        uow.commit()
    log.info("live.swap_confirmed", submission_id=str(sub.id), kind=sub.kind,
             signature=sub.signature, sol=str(fill.sol_amount), tokens=str(fill.token_amount),
             network_fee_sol=str(fill.network_fee_sol))
    return CONFIRMED


def _write_fill(uow: UnitOfWork, sub: SwapSubmission, fill: Fill, order: Order) -> uuid.UUID:
    _, stored = uow.agents.lock_with_config(sub.agent_id)
    config: TradingConfig = trading_config(stored)
    position = uow.positions.find_open(sub.agent_id, sub.wallet_address, sub.token_address,
                                       for_update=True)
    wallet = Wallet(sub.wallet_address, sub.agent_id, "live")
    if sub.kind in BUY_KINDS:
        if position is None:
            token = (sub.token_address, sub.token_symbol)
            return trades.open_new(uow, wallet, config, token, fill, order).id
        tx, _ = trades.dca_into(uow, wallet, config, position, fill, order)
        return tx.id
    if position is None or sub.kind not in (CLOSE, SELL):
        raise RuntimeError(f"live {sub.kind} {sub.id}: no open position to sell from")
    if sub.kind == SELL:  # the ladder moves here, with the confirmed amounts, exactly once
        step = stored_take_profit(sub.quote)
        return trades.take_profit_sale(uow, position, step, fill, order).id
    trade = trades.close(uow, position, fill, sub.close_reason or "signal", order)
    return trade.sale_transaction_id


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


def _complete(uow: UnitOfWork, sub: SwapSubmission,
              result: tuple[str, str, str | None, uuid.UUID | None], now: datetime) -> None:
    """Complete the signal's execution (status, action, reason, transaction id), if any."""
    status, action, reason, tx_id = result
    if sub.signal_id is not None:
        uow.executions.complete(sub.signal_id, sub.agent_id, status=status, action=action,
                                reason=reason, transaction_id=tx_id, now=now)
        # The last PENDING execution made terminal completes the signal (docs/rules.md §12).
        uow.signals.mark_processed_if_complete(sub.signal_id, now)
