"""Phase 1 of a live swap: inside the caller's transaction, record an intent instead of a
fill (docs/rules.md §12).

The entry and exit rules run unchanged for a live agent (wallet, balance, sizing, DCA); where
a simulated agent would fill on paper, a live one gets a ``swap_submissions`` row (status
``intent``) and its execution stays ``PENDING``. After the commit ``live.execute`` quotes,
signs, stores the signature, sends and confirms, away from any row lock (``swaps.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.errors import PermanentError
from domain.ports import PriceQuote, UnitOfWork
from domain.submissions import SwapSubmission
from domain.wallets import Wallet
from workers.handlers.shared.trades import Order

PENDING = "PENDING"


@dataclass(frozen=True)
class Intent:
    """What a live swap is meant to do: ``kind`` open/dca/close/sell, ``amount`` SOL for a
    buy and tokens for a sale."""

    kind: str
    token_address: str
    token_symbol: str | None
    amount: Decimal
    close_reason: str | None = None


def feed_quote_json(quote: PriceQuote) -> dict[str, object]:
    """The feed price the decision saw, kept with the intent (the ledger's USD values)."""
    return {"token_address": quote.token_address, "price_sol": str(quote.price_sol),
            "price_usd": None if quote.price_usd is None else str(quote.price_usd),
            "source": quote.source, "observed_at": quote.observed_at.isoformat()}


def feed_quote(stored: Mapping[str, object] | None) -> PriceQuote:
    """The feed price stored with an intent."""
    feed = (stored or {}).get("feed")
    if not isinstance(feed, Mapping):
        raise PermanentError("a live submission without its feed quote")
    usd = feed.get("price_usd")
    return PriceQuote(token_address=str(feed["token_address"]),
                      price_sol=Decimal(str(feed["price_sol"])),
                      observed_at=datetime.fromisoformat(str(feed["observed_at"])),
                      source=str(feed["source"]),
                      price_usd=None if usd is None else Decimal(str(usd)))


def record_intent(uow: UnitOfWork, wallet: Wallet, intent: Intent,
                  order: Order) -> SwapSubmission:
    """Add the ``intent`` row in the caller's transaction (the agent row is locked)."""
    submission = SwapSubmission(
        agent_id=wallet.agent_id, wallet_address=wallet.wallet_address, kind=intent.kind,
        token_address=intent.token_address, amount_in=intent.amount,
        signal_id=order.signal_id, token_symbol=intent.token_symbol,
        close_reason=intent.close_reason, quote={"feed": feed_quote_json(order.quote)})
    uow.submissions.add(submission, order.now)
    return submission
