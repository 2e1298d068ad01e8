"""Phase 2 of a live swap (``live.execute``): quote, sign, store, send, confirm (docs/rules.md §12).

No row lock is held while the network is used. The order is what makes it crash-safe:
the signature and last valid block height are **committed before** the bytes are sent, and
only the process whose ``intent → submitted`` transition won sends them. After that nothing
is ever re-signed: the same bytes are re-sent until the signature lands or the blockhash
expires (``live_record.resolve``); whatever is unresolved when the confirm window closes is
left ``submitted`` for the reconciler.
"""

from __future__ import annotations

import base64
import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog

from domain import sizing
from domain.config import TradingConfig
from domain.errors import InvalidInput, NotFound, PermanentError, TransientError
from domain.ledger import SOL_MINT
from domain.money import lamports, to_base_units
from domain.submissions import (
    FAILED,
    INTENT,
    NOT_SUBMITTED,
    OPEN,
    SUBMITTED,
    SWAP_REFUSED,
    SwapSubmission,
)
from workers.adapters.live_fills import quote_json
from workers.handlers.configs import trading_config
from workers.handlers.live_record import RecordDeps, finish, resolve

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class LiveConfig:
    slippage_bps: int = 50
    max_priority_lamports: int = 1_000_000
    confirm_timeout_s: float = 30.0
    poll_s: float = 1.0
    resend_s: float = 2.0


@dataclass(frozen=True)
class LiveDeps:
    record: RecordDeps
    jupiter: Any  # quote, swap_transaction (JupiterClient)
    wallets: Any  # get(address) → a signer with sign_transaction (WalletRegistry)
    token_decimals: Callable[[str], int]
    sleep: Callable[[float], None]
    monotonic: Callable[[], float]
    config: LiveConfig = LiveConfig()


def execute_live(submission_id: uuid.UUID, deps: LiveDeps) -> str:
    """Run one submission as far as it can go; returns its status afterwards."""
    with deps.record.uow() as uow:
        sub = uow.submissions.get(submission_id)
        stored = uow.agents.get_config(sub.agent_id)
    if sub.status == INTENT:
        prepared = _prepare(sub, trading_config(stored), deps)
        if prepared is None:
            return _status(submission_id, deps)
        sub = prepared
        send_signed(sub, deps)
    if sub.status != SUBMITTED:
        return sub.status
    return confirm(sub, deps)


def _status(submission_id: uuid.UUID, deps: LiveDeps) -> str:
    with deps.record.uow() as uow:
        status: str = uow.submissions.get(submission_id).status
    return status


def _prepare(sub: SwapSubmission, config: TradingConfig,
             deps: LiveDeps) -> SwapSubmission | None:
    """Quote, build, sign and commit the signature (intent → submitted); None if refused
    (the submission is then failed) or another process got there first."""
    try:
        wallet = deps.wallets.get(sub.wallet_address)
        chosen = _quote(sub, config, deps)
        if chosen is None:
            finish(deps.record, sub, FAILED, sizing.PRICE_IMPACT_TOO_HIGH,
                   sizing.PRICE_IMPACT_TOO_HIGH, INTENT, "SKIPPED")
            return None
        quote, amount = chosen
        swap = deps.jupiter.swap_transaction(quote, wallet.address,
                                             deps.config.max_priority_lamports)
        signed = wallet.sign_transaction(swap.swap_transaction_b64)
    except (PermanentError, InvalidInput) as exc:  # 4xx, a bad answer, a key not loaded
        reason = "wallet_not_loaded" if isinstance(exc, NotFound) else SWAP_REFUSED
        finish(deps.record, sub, FAILED, str(exc), reason, INTENT)
        return None
    submitted = dataclasses.replace(
        sub, status=SUBMITTED, signature=signed.signature, amount_in=amount,
        signed_transaction=base64.b64encode(signed.raw).decode(),
        last_valid_block_height=swap.last_valid_block_height,
        quote={**(sub.quote or {}), "jupiter": quote_json(quote)})
    return submitted if _store(submitted, deps) else None


def _store(sub: SwapSubmission, deps: LiveDeps) -> bool:
    """Commit the signature before anything is sent; False when the intent is gone."""
    with deps.record.uow() as uow:
        won: bool = uow.submissions.mark_submitted(sub, deps.record.clock.now())
        uow.commit()
    log.info("live.swap_signed", submission_id=str(sub.id), kind=sub.kind, won=won,
             signature=sub.signature, last_valid_block_height=sub.last_valid_block_height)
    return won


def _quote(sub: SwapSubmission, config: TradingConfig, deps: LiveDeps) -> Any:
    """(quote, amount in) — for an opening buy the first size of docs/rules.md §5 whose price
    impact is acceptable, None when none is."""
    slippage = deps.config.slippage_bps
    if sub.side == "sell":
        units = to_base_units(sub.amount_in, deps.token_decimals(sub.token_address))
        return deps.jupiter.quote(sub.token_address, SOL_MINT, units, slippage), sub.amount_in
    sizes = sizing.impact_retry_sizes(sub.amount_in) if sub.kind == OPEN else [sub.amount_in]
    for size in sizes:
        quote = deps.jupiter.quote(SOL_MINT, sub.token_address, lamports(size), slippage)
        if sub.kind != OPEN or sizing.impact_acceptable(quote.price_impact, config):
            return quote, Decimal(size)
    return None


def send_signed(sub: SwapSubmission, deps: LiveDeps) -> None:
    """Send the stored bytes. A failed send is not a failed swap: the node may still have
    forwarded them, so only the signature status or expiry decides."""
    assert sub.signed_transaction is not None
    try:
        deps.record.rpc.send_transaction(base64.b64decode(sub.signed_transaction))
    except (TransientError, PermanentError) as exc:
        log.warning("live.send_failed", submission_id=str(sub.id), error=str(exc))


def confirm(sub: SwapSubmission, deps: LiveDeps) -> str:
    """Poll until the swap resolves, re-sending the same bytes; SUBMITTED on timeout."""
    start = deps.monotonic()
    next_send = start + deps.config.resend_s
    while True:
        try:
            outcome = resolve(sub, deps.record)
        except TransientError as exc:
            log.warning("live.status_unavailable", submission_id=str(sub.id), error=str(exc))
            outcome = None
        if outcome is not None:
            return outcome
        now = deps.monotonic()
        if now - start >= deps.config.confirm_timeout_s:
            log.info("live.swap_unconfirmed", submission_id=str(sub.id), signature=sub.signature)
            return SUBMITTED
        if now >= next_send:
            send_signed(sub, deps)
            next_send = now + deps.config.resend_s
        deps.sleep(deps.config.poll_s)


def fail_unsubmitted(sub: SwapSubmission, deps: RecordDeps) -> str:
    """An intent never signed (its task was lost): nothing was sent, so fail it."""
    return finish(deps, sub, FAILED, "never signed", NOT_SUBMITTED, INTENT)
