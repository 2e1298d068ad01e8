"""What one agent does with a signal (docs/rules.md §3, §6, §10), as values.

``decide_entry`` and ``decide_exit_signal`` are pure: the handler gathers the facts under the
agent lock (wallet, key, price, balance, position, open count), these decide, and the handler
writes what was decided. The bulk fan-out path and the per-agent path share them. The trading
mode is data (``Facts.live``), not a type check on an executor.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain import dca, sizing
from domain.config import TradingConfig
from domain.errors import SizingError
from domain.positions import Position

WALLET_NOT_FOUND = "wallet_not_found"
WALLET_NOT_LOADED = "wallet_not_loaded"
PRICE_UNAVAILABLE = "price_unavailable"
POSITION_EXISTS = "position_exists"
NO_POSITION = "no_position"
MANUAL_BUY = "manual_buy"  # the reason on a manual buy's added-buy decision


@dataclass(frozen=True)
class Skip:
    """Nothing to do for this agent; ``reason`` is a stable code stored on the execution."""

    reason: str


@dataclass(frozen=True)
class Open:
    """Open a position spending ``size`` SOL (before the price-impact retries)."""

    size: Decimal


@dataclass(frozen=True)
class Dca:
    """Buy ``amount_sol`` more into ``position`` (the level ``decision`` fired)."""

    position: Position
    amount_sol: Decimal
    decision: dca.DcaDecision


@dataclass(frozen=True)
class Close:
    """Sell the whole holding of ``position`` (an exit signal)."""

    position: Position


EntryDecision = Open | Dca | Skip
ExitDecision = Close | Skip


@dataclass(frozen=True)
class Facts:
    """What the handler read about one agent and token before deciding."""

    config: TradingConfig
    now: datetime
    wallet_found: bool = True
    key_loaded: bool = True  # a live wallet's key is loaded here (always True in simulation)
    live: bool = False
    price: Decimal | None = None
    balance: Decimal = Decimal("0")
    position: Position | None = None
    open_count: int = 0
    max_open_positions: int = sizing.MAX_OPEN_POSITIONS


def _wallet_skip(facts: Facts) -> Skip | None:
    if not facts.wallet_found:
        return Skip(WALLET_NOT_FOUND)
    if not facts.key_loaded:
        return Skip(WALLET_NOT_LOADED)
    return None


def decide_entry(facts: Facts, rng: random.Random) -> EntryDecision:
    """Open, DCA into the open position, or skip with the first failing reason."""
    skip = _wallet_skip(facts)
    if skip is not None:
        return skip
    if facts.price is None:
        return Skip(PRICE_UNAVAILABLE)
    if facts.position is not None:
        return _dca(facts, facts.position, facts.price)
    return plan_size(facts, rng)


def _dca(facts: Facts, position: Position, price: Decimal) -> EntryDecision:
    decision = dca.evaluate(position, price, facts.config, facts.now)
    if not decision.triggered:
        return Skip(POSITION_EXISTS)
    # A live buy's fees are not known before it lands: keep a margin for them.
    if facts.live and decision.buy_amount_sol >= facts.balance:
        return Skip(sizing.INSUFFICIENT_BALANCE)
    return Dca(position, decision.buy_amount_sol, decision)


def plan_size(facts: Facts, rng: random.Random) -> Open | Skip:
    """The checks before a buy and the position size (docs/rules.md §3, §4)."""
    reason = sizing.buy_precheck(facts.balance, facts.open_count, facts.config,
                                 facts.max_open_positions)
    if reason is not None:
        return Skip(reason)
    try:
        return Open(sizing.position_size(facts.balance, facts.config, rng).size)
    except SizingError as exc:
        return Skip(exc.reason)


def decide_manual(facts: Facts, amount_sol: Decimal | None,
                  rng: random.Random) -> EntryDecision:
    """An operator's manual buy (docs/rules.md §3 "Manual buy"): a signal's wallet, price and
    position-count checks; the operator's ``amount_sol`` (None: the size §4 gives, with its
    balance checks) must fit the balance. Into an open position it is an added buy, written
    as a DCA, whatever the DCA rules say: the operator decided it."""
    skip = _wallet_skip(facts)
    if skip is not None:
        return skip
    if facts.price is None:
        return Skip(PRICE_UNAVAILABLE)
    if amount_sol is None:
        planned = plan_size(facts, rng)
        if isinstance(planned, Skip) or facts.position is None:
            return planned
        return _added(facts.position, planned.size)
    # A live buy's fees are not known before it lands: keep a margin for them (as a DCA).
    if facts.balance <= 0 or amount_sol > facts.balance or (
            facts.live and amount_sol >= facts.balance):
        return Skip(sizing.INSUFFICIENT_BALANCE)
    if facts.position is not None:
        return _added(facts.position, amount_sol)
    if facts.open_count >= facts.max_open_positions:
        return Skip(sizing.MAX_POSITIONS)
    return Open(amount_sol)


def _added(position: Position, amount_sol: Decimal) -> Dca:
    return Dca(position, amount_sol, dca.DcaDecision(True, None, amount_sol, MANUAL_BUY,
                                                     position.dca_count))


def decide_exit_signal(facts: Facts) -> ExitDecision:
    """Close the agent's open position in the token, or skip."""
    skip = _wallet_skip(facts)
    if skip is not None:
        return skip
    if facts.position is None:
        return Skip(NO_POSITION)
    if facts.price is None:
        return Skip(PRICE_UNAVAILABLE)
    return Close(facts.position)


def affordable(sol_amount: Decimal, fees_sol: Decimal, balance: Decimal) -> bool:
    """A filled buy's SOL and fees fit the balance (it can never go negative)."""
    return sol_amount + fees_sol <= balance


# Waiting for this agent's turn (docs/rules.md §3 "Order per agent and token", §12 "One swap at
# a time per agent"): the agent's execution of the signal is left unclaimed and retried.
EARLIER_SIGNAL_PENDING = "earlier_signal_pending"
SWAP_IN_FLIGHT = "swap_in_flight"
# The FAILED reasons once a signal waited its longest (``Policy.signal_max_wait``).
GAVE_UP = {EARLIER_SIGNAL_PENDING: "earlier_signal_still_pending",
           SWAP_IN_FLIGHT: "swap_still_in_flight"}
# The ``attempt`` of an execute sent by a re-run of a signal's fan-out (the outbox sweeper):
# its waiting agents start no retry chain of their own (the first fan-out's chain, or the
# sweeper's next re-run, brings them back), so chains never multiply.
NO_CHAIN = -1
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 2.0  # a chain of waits on one token moves on within 2 s of each turn


@dataclass(frozen=True)
class Ahead:
    """What stands before one agent's turn at a signal, as read from the database:
    an earlier-received signal for the token not yet applied to it, and a live swap of its
    own still in flight."""

    earlier_signal: bool = False
    swap_in_flight: bool = False


@dataclass(frozen=True)
class Wait:
    """Not this agent's turn yet: record nothing for it now and try it again later."""

    reason: str


def wait_for(ahead: Ahead | None) -> Wait | None:
    """The in-flight swap first: it changes the balance and position the turn decides on."""
    if ahead is None:
        return None
    if ahead.swap_in_flight:
        return Wait(SWAP_IN_FLIGHT)
    if ahead.earlier_signal:
        return Wait(EARLIER_SIGNAL_PENDING)
    return None


def gave_up(wait: Wait) -> str:
    """The stable FAILED reason of a wait that outlasted its bound."""
    return GAVE_UP.get(wait.reason, wait.reason)


def retry_delay(attempt: int) -> float:
    """Seconds before the next look (attempt 0, 1, …): 0.5, 1, then every 2."""
    return min(RETRY_FIRST_S * float(2 ** min(max(attempt, 0), 16)), RETRY_MAX_S)
