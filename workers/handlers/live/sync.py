"""Use case: balances from the chain (beat ``wallets.sync``, ``fleet wallets sync``;
docs/rules.md §12).

For every live wallet: read what the chain holds (``LiveVenue.wallet_balances``: SOL, SPL
Token and Token-2022), then, under the agent's lock (the one every trade takes), compare it
with the ledger and record each difference as an explicit row (``domain/wallet_sync.py``:
deposit, withdrawal, unexplained) with a warning; positions whose tokens left are charged
and flagged. Never a silent overwrite.

A live swap changes the wallet on chain before its fill reaches the ledger, so a wallet is
skipped this round (``swap_in_flight``) while its agent has a swap in flight or one that
changed within ``LiveConfig.sync_settle_s`` (the RPC node may still answer from before it),
checked before the read and again under the lock; and a wallet whose ledger changed while
the chain was read is skipped (``ledger_moved``). The next round compares it again.
Idempotent: a second run finds the ledger equal to the chain and writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

import structlog

from domain.errors import PermanentError, TransientError
from domain.wallet_sync import LEDGER_MOVED, SWAP_IN_FLIGHT, Adjustment, ChainBalances, reconcile
from domain.wallets import Wallet
from workers.handlers.shared import trades
from workers.handlers.shared.deps import Deps
from workers.handlers.shared.trades import Touched

log = structlog.get_logger(__name__)

BALANCED, ADJUSTED, SKIPPED, UNREAD = "balanced", "adjusted", "skipped", "unread"


@dataclass(frozen=True)
class WalletSync:
    """One wallet's round: ``status`` balanced / adjusted / skipped (``reason``) / unread
    (the chain could not be read: ``reason`` says why)."""

    wallet_address: str
    agent_id: uuid.UUID
    status: str
    reason: str | None = None
    slot: int | None = None
    adjustments: tuple[Adjustment, ...] = ()
    flagged: tuple[uuid.UUID, ...] = ()  # positions whose tokens left the wallet


def sync_wallets(deps: Deps, only: Collection[str] | None = None) -> list[WalletSync]:
    """One round over every live wallet (or the addresses in ``only``)."""
    with deps.uow() as uow:
        owners = uow.live_wallets.owners()
    results = [_sync(Wallet(address, agent_id, "live"), deps)
               for address, (agent_id, _) in sorted(owners.items())
               if only is None or address in only]
    log.info("wallets.synced", wallets=len(results), **tally(results))
    return results


def tally(results: Collection[WalletSync]) -> dict[str, int]:
    """How many wallets ended in each status."""
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return counts


def _sync(wallet: Wallet, deps: Deps) -> WalletSync:
    done = partial(WalletSync, wallet.wallet_address, wallet.agent_id)
    settled = deps.clock.now() - timedelta(seconds=deps.live.sync_settle_s)
    with deps.uow() as uow:
        if uow.submissions.busy_since(wallet.agent_id, settled):
            return done(SKIPPED, SWAP_IN_FLIGHT)
        before = uow.balances.for_wallet(wallet.wallet_address)
    try:
        chain = deps.venue.wallet_balances(wallet.wallet_address)
    except (TransientError, PermanentError) as exc:  # one bad wallet never stops the others
        log.warning("wallets.sync_unread", wallet=wallet.wallet_address,
                    agent_id=str(wallet.agent_id), error=str(exc))
        return done(UNREAD, str(exc)[:200])
    return _apply(wallet, chain, before, settled, deps)


def _apply(wallet: Wallet, chain: ChainBalances, before: dict[str, Decimal],
           settled: datetime, deps: Deps) -> WalletSync:
    done = partial(WalletSync, wallet.wallet_address, wallet.agent_id, slot=chain.slot)
    now, touched = deps.clock.now(), Touched()
    with deps.uow() as uow:
        uow.agents.get_for_update(wallet.agent_id)
        if uow.submissions.busy_since(wallet.agent_id, settled):
            return done(SKIPPED, SWAP_IN_FLIGHT)
        ledger = uow.balances.for_wallet(wallet.wallet_address)
        if ledger != before:
            return done(SKIPPED, LEDGER_MOVED)
        positions = [p for p in uow.positions.list_open(wallet.agent_id)
                     if p.wallet_address == wallet.wallet_address]
        found = reconcile(wallet, ledger, chain, positions, now)
        if found.balanced:
            return done(BALANCED)
        for adjustment in found.adjustments:
            trades.record(uow, adjustment.transaction, now, touched)
        for position in found.positions:
            uow.positions.update(position)
            touched.positions[position.id] = position
        uow.after_commit(partial(deps.write_cache, touched))
        uow.commit()
    for adjustment in found.adjustments:
        log.warning("wallets.adjusted", kind=adjustment.kind, mint=adjustment.mint,
                    amount=str(adjustment.amount), wallet=wallet.wallet_address,
                    agent_id=str(wallet.agent_id), slot=chain.slot,
                    transaction_id=str(adjustment.transaction.id))
    for position in found.positions:
        log.warning("position.tokens_left", position_id=str(position.id),
                    token=position.token_address, tokens_left=str(position.tokens_left),
                    holding=str(position.holding), agent_id=str(wallet.agent_id))
    return done(ADJUSTED, adjustments=found.adjustments,
                flagged=tuple(p.id for p in found.positions))
