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

from domain import take_profit
from domain.config import TakeProfitLevel
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
    take_profit: take_profit.TakeProfitDecision | None = None  # a ``sell``: the ladder step


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
        close_reason=intent.close_reason, quote=_stored(intent, order.quote))
    uow.submissions.add(submission, order.now)
    return submission


def _stored(intent: Intent, quote: PriceQuote) -> dict[str, object]:
    stored: dict[str, object] = {"feed": feed_quote_json(quote)}
    if intent.take_profit is not None:
        stored["take_profit"] = take_profit_json(intent.take_profit)
    return stored


def take_profit_json(decision: take_profit.TakeProfitDecision) -> dict[str, object]:
    """What a confirmed take-profit sale needs to move the ladder (docs/rules.md §8): the
    levels it takes and the moon bag it keeps; the amounts come from the confirmed fill."""
    return {"levels": [[str(lv.target_percent), str(lv.sell_percent)]
                       for lv in decision.levels],
            "activate_moon_bag": decision.activate_moon_bag,
            "moon_bag_amount": None if decision.moon_bag_amount is None
            else str(decision.moon_bag_amount)}


def stored_take_profit(stored: Mapping[str, object] | None) -> take_profit.TakeProfitDecision:
    """The take-profit step recorded with a ``sell`` intent."""
    plan = (stored or {}).get("take_profit")
    if not isinstance(plan, Mapping):
        raise PermanentError("a live take-profit sale without its ladder step")
    levels = tuple(TakeProfitLevel(Decimal(t), Decimal(s)) for t, s in plan["levels"])
    moon = plan["moon_bag_amount"]
    return take_profit.TakeProfitDecision(
        True, levels, Decimal(0), bool(plan["activate_moon_bag"]),
        None if moon is None else Decimal(str(moon)), Decimal(0), take_profit.TAKE_PROFIT)
