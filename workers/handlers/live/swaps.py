"""Phase 2 of a live swap (``live.execute``): quote, sign, store, send, confirm
(docs/rules.md §12).

No row lock is held while the network is used. The order is what makes it crash-safe:
the signature and last valid block height are **committed before** the bytes are sent, and
only the process whose ``intent → submitted`` transition won sends them. After that nothing
is ever re-signed: the same bytes are re-sent until the signature lands or the blockhash
expires (``record.resolve``); whatever is unresolved when the confirm window closes is
left ``submitted`` for the reconciler.
"""

from __future__ import annotations

import base64
import dataclasses
import uuid
from decimal import Decimal

import structlog

from domain import sizing
from domain.config import TradingConfig
from domain.entry import WALLET_NOT_LOADED
from domain.errors import InvalidInput, NotFound, PermanentError, TransientError
from domain.ledger import SOL_MINT
from domain.money import lamports, to_base_units
from domain.ports import SwapQuote
from domain.sizing import PRICE_IMPACT_TOO_HIGH
from domain.submissions import (
    FAILED,
    INTENT,
    NOT_SUBMITTED,
    OPEN,
    SUBMITTED,
    SWAP_REFUSED,
    SwapSubmission,
)
from workers.handlers.live.record import Ending, finish, resolve
from workers.handlers.shared.configs import trading_config
from workers.handlers.shared.deps import Deps

log = structlog.get_logger(__name__)


def execute_live(submission_id: uuid.UUID, deps: Deps) -> str:
    """Run one submission as far as it can go; returns its status afterwards."""
    with deps.uow() as uow:
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


def _status(submission_id: uuid.UUID, deps: Deps) -> str:
    with deps.uow() as uow:
        status: str = uow.submissions.get(submission_id).status
    return status


def _prepare(sub: SwapSubmission, config: TradingConfig, deps: Deps) -> SwapSubmission | None:
    """Quote, build, sign and commit the signature (intent → submitted); None if refused
    (the submission is then failed) or another process got there first."""
    if not deps.venue.has_key(sub.wallet_address):
        finish(deps, sub, Ending(FAILED, "wallet key not loaded", WALLET_NOT_LOADED, INTENT))
        return None
    try:
        chosen = _quote(sub, config, deps)
        if chosen is None:
            finish(deps, sub, Ending(FAILED, PRICE_IMPACT_TOO_HIGH, PRICE_IMPACT_TOO_HIGH,
                                     INTENT, "SKIPPED"))
            return None
        quote, amount = chosen
        signed = deps.venue.sign_swap(quote, sub.wallet_address,
                                      deps.live.max_priority_lamports)
    except (PermanentError, InvalidInput) as exc:  # 4xx, a bad answer, a refused transaction
        reason = WALLET_NOT_LOADED if isinstance(exc, NotFound) else SWAP_REFUSED
        finish(deps, sub, Ending(FAILED, str(exc), reason, INTENT))
        return None
    submitted = dataclasses.replace(
        sub, status=SUBMITTED, signature=signed.signature, amount_in=amount,
        signed_transaction=base64.b64encode(signed.raw).decode(),
        last_valid_block_height=signed.last_valid_block_height,
        quote={**(sub.quote or {}), "jupiter": quote.raw})
    return submitted if _store(submitted, deps) else None


def _store(sub: SwapSubmission, deps: Deps) -> bool:
    """Commit the signature before anything is sent; False when the intent is gone."""
    with deps.uow() as uow:
        won: bool = uow.submissions.mark_submitted(sub, deps.clock.now())
        uow.commit()
    log.info("live.swap_signed", submission_id=str(sub.id), kind=sub.kind, won=won,
             signature=sub.signature, last_valid_block_height=sub.last_valid_block_height)
    return won


def _quote(sub: SwapSubmission, config: TradingConfig,
           deps: Deps) -> tuple[SwapQuote, Decimal] | None:
    """(quote, amount in) — for an opening buy the first size of docs/rules.md §5 whose
    price impact is acceptable, None when none is."""
    slippage, venue = deps.live.slippage_bps, deps.venue
    if sub.side == "sell":
        units = to_base_units(sub.amount_in, venue.token_decimals(sub.token_address))
        return venue.quote(sub.token_address, SOL_MINT, units, slippage), sub.amount_in
    sizes = sizing.impact_retry_sizes(sub.amount_in) if sub.kind == OPEN else [sub.amount_in]
    for size in sizes:
        quote = venue.quote(SOL_MINT, sub.token_address, lamports(size), slippage)
        if sub.kind != OPEN or sizing.impact_acceptable(quote.price_impact, config):
            return quote, Decimal(size)
    return None


def send_signed(sub: SwapSubmission, deps: Deps) -> None:
    """Send the stored bytes. A failed send is not a failed swap: the node may still have
    forwarded them, so only the signature status or expiry decides."""
    assert sub.signed_transaction is not None
    try:
        deps.venue.send(base64.b64decode(sub.signed_transaction))
    except (TransientError, PermanentError) as exc:
        log.warning("live.send_failed", submission_id=str(sub.id), error=str(exc))


def confirm(sub: SwapSubmission, deps: Deps) -> str:
    """Poll until the swap resolves, re-sending the same bytes; SUBMITTED on timeout."""
    start = deps.monotonic()
    next_send = start + deps.live.resend_s
    while True:
        try:
            outcome = resolve(sub, deps)
        except TransientError as exc:
            log.warning("live.status_unavailable", submission_id=str(sub.id), error=str(exc))
            outcome = None
        if outcome is not None:
            return outcome
        now = deps.monotonic()
        if now - start >= deps.live.confirm_timeout_s:
            log.info("live.swap_unconfirmed", submission_id=str(sub.id), signature=sub.signature)
            return SUBMITTED
        if now >= next_send:
            send_signed(sub, deps)
            next_send = now + deps.live.resend_s
        deps.sleep(deps.live.poll_s)


def fail_unsubmitted(sub: SwapSubmission, deps: Deps) -> str:
    """An intent never signed (its task was lost): nothing was sent, so fail it."""
    return finish(deps, sub, Ending(FAILED, "never signed", NOT_SUBMITTED, INTENT))
