"""Phase 1 of a live swap: inside the signal's transaction, record an intent instead of a fill.

The entry and exit rules run unchanged for a live agent (wallet, balance, sizing, DCA); where
a simulated agent would fill on paper, a live one gets a ``swap_submissions`` row (status
``intent``) and its execution stays ``PENDING``. After the commit ``live.execute`` quotes,
signs, stores the signature, sends and confirms, away from any row lock (``live.py``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, NoReturn

from domain.errors import PermanentError
from domain.ports import PriceQuote, UnitOfWork
from domain.submissions import SwapSubmission
from domain.wallets import Wallet

PENDING = "PENDING"


class LiveSwaps:
    """The executor the entry rules get for a loaded live wallet. Nothing fills in the
    signal's transaction: the rules check ``isinstance(swaps, LiveSwaps)`` and record an
    intent; calling a fill method is a programming error."""

    def __init__(self, wallet_address: str) -> None:
        self.wallet_address = wallet_address

    def __repr__(self) -> str:
        return f"LiveSwaps({self.wallet_address})"

    def _refuse(self) -> NoReturn:
        raise PermanentError("a live swap runs in live.execute, never inside the signal's "
                             "transaction")

    def price_impact(self, token_address: str, sol_amount: Decimal, price: PriceQuote) -> Decimal:
        self._refuse()

    def buy(self, wallet_address: str, token_address: str, sol_amount: Decimal,
            price: PriceQuote) -> Any:
        self._refuse()

    def sell(self, wallet_address: str, token_address: str, token_amount: Decimal,
             price: PriceQuote) -> Any:
        self._refuse()


def feed_quote_json(quote: PriceQuote) -> dict[str, Any]:
    """The feed price the signal saw, kept with the intent (the ledger's USD values)."""
    return {"token_address": quote.token_address, "price_sol": str(quote.price_sol),
            "price_usd": None if quote.price_usd is None else str(quote.price_usd),
            "source": quote.source, "observed_at": quote.observed_at.isoformat()}


def feed_quote(data: Any) -> PriceQuote:
    feed = data["feed"]
    usd = feed.get("price_usd")
    return PriceQuote(token_address=feed["token_address"], price_sol=Decimal(feed["price_sol"]),
                      observed_at=datetime.fromisoformat(feed["observed_at"]),
                      source=feed["source"], price_usd=None if usd is None else Decimal(usd))


def record_intent(uow: UnitOfWork, wallet: Wallet, kind: str, token: str, symbol: str | None,
                  amount: Decimal, quote: PriceQuote, signal_id: int | None, now: datetime,
                  close_reason: str | None = None) -> SwapSubmission:
    """Add the ``intent`` row in the caller's transaction (the agent row is locked)."""
    submission = SwapSubmission(
        agent_id=wallet.agent_id, wallet_address=wallet.wallet_address, kind=kind,
        token_address=token, amount_in=amount, signal_id=signal_id, token_symbol=symbol,
        close_reason=close_reason, quote={"feed": feed_quote_json(quote)})
    uow.submissions.add(submission, now)
    return submission
