"""Use case: an operator's manual buy (``fleet trades buy``, docs/rules.md §3 "Manual buy").

It takes a signal's path: a signal for one agent (``Signal.agent_id``) with the operator's size
(``Signal.amount_sol``; None: the agent's rules size it) is stored in the ``manual`` namespace
and fanned out like any other, so the claim UNIQUE(signal_id, agent_id), the agent lock, the
ledger write path and the live intent path all apply (``signals/agent.py`` decides it with
``domain.entry.decide_manual``).

Before anything is stored the same decision runs on the facts read under the agent lock, in a
transaction that writes nothing: a refusal raises ``Refused`` (one line naming the field and
the fix) and changes nothing. What changes between that look and the execution (a sweep's
trade, a pause) is decided again under the lock and recorded on the execution, as for any
signal.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from decimal import Decimal

import structlog

from domain.agents import Agent
from domain.channels import MANUAL
from domain.config import StoredConfig
from domain.eligibility import AUTOMATION_PAUSED
from domain.entry import Dca, Facts, Open, Skip
from domain.errors import InvalidInput, InvalidSignal, NotFound
from domain.ledger import SOL_MINT
from domain.money import sol
from domain.ports import Fill, PriceQuote, UnitOfWork
from domain.signals import Signal, parse_signal
from domain.submissions import SWAP_IN_PROGRESS
from domain.vocabulary import Vocabulary
from domain.wallets import Wallet
from workers.handlers.operators.money import parse_amount
from workers.handlers.shared import buying
from workers.handlers.shared.configs import trading_config
from workers.handlers.shared.deps import Deps
from workers.handlers.shared.trades import Touched
from workers.handlers.signals.agent import AGENT_ARCHIVED, Turn, decide, facts_for
from workers.handlers.signals.fan_out import fan_out
from workers.handlers.signals.ingest import store_signals

log = structlog.get_logger(__name__)

MANUAL_SOURCE = "operator"
# The signal fields the operator gives, by the names the command uses.
_FIELDS = {"token_address": "token_mint", "activation_reason": "reason", "symbol": "symbol"}


class Refused(InvalidInput):
    """A manual buy refused before anything was stored; ``code`` is the docs/rules.md §3
    reason a signal's execution would have recorded."""

    def __init__(self, field: str, reason: str, code: str) -> None:
        super().__init__(field, reason)
        self.code = code


@dataclass(frozen=True)
class BuyOrder:
    agent_id: uuid.UUID
    token_address: str
    amount_sol: object = None  # text or a number; None: the agent's rules size the buy
    reason: str | None = None
    symbol: str | None = None


@dataclass(frozen=True)
class Bought:
    signal_id: int
    agent: Agent
    status: str  # EXECUTED, PENDING (a live swap, run by the live worker), SKIPPED or FAILED
    action: str  # open / dca / none
    reason: str | None
    transaction_id: uuid.UUID | None
    sol_balance: Decimal  # the wallet's SOL after the buy (before a live swap lands)
    holding: Decimal  # tokens held in the position after the buy (0: none open)
    token_address: str
    symbol: str | None  # the position's (or the order's) symbol


def manual_buy(order: BuyOrder, deps: Deps) -> Bought:
    """Refuse (``InvalidInput``, nothing written) or store the buy as a signal for the one
    agent and execute it in this process, as a worker executes a fan-out's first chunk."""
    signal = read_order(order, deps.vocabulary)
    quote = deps.prices.get_prices([signal.token_address]).get(signal.token_address)
    with deps.uow() as uow:  # a look under the lock; rolled back: it writes nothing
        try:
            agent, stored = uow.agents.lock_with_config(order.agent_id)
        except NotFound:
            raise Refused("agent", f"no agent {order.agent_id} (`fleet agents list`)",
                          "unknown_agent") from None
        precheck(uow, deps, (agent, stored), signal, quote)
    signal = dataclasses.replace(signal, user_id=agent.user_id)
    [stored_signal] = store_signals([signal], deps, MANUAL, enqueue=False)
    fan_out(stored_signal.signal_id, deps)
    bought = _result(stored_signal.signal_id, agent, signal, deps)
    log.info("trade.manual_buy", signal_id=bought.signal_id, agent_id=str(agent.id),
             status=bought.status, action=bought.action, reason=bought.reason)
    return bought


def read_order(order: BuyOrder, vocabulary: Vocabulary) -> Signal:
    """The order as a signal for one agent; ``InvalidInput`` names the command's field."""
    amount = None if order.amount_sol is None else parse_amount(order.amount_sol, "sol")
    payload = {"token_address": order.token_address, "signal_type": entry_type(vocabulary),
               "signal_strength": 100, "symbol": order.symbol,
               "activation_reason": order.reason, "source": MANUAL_SOURCE}
    try:
        signal = parse_signal({k: v for k, v in payload.items() if v is not None})
    except InvalidSignal as exc:
        raise InvalidInput(_FIELDS.get(exc.field, exc.field), exc.reason) from None
    return dataclasses.replace(signal, agent_id=order.agent_id, amount_sol=amount)


def entry_type(vocabulary: Vocabulary) -> str:
    """The signal type a manual buy is stored with: the deployment's first entry type."""
    return next((t for t in (*vocabulary.entry, "buy") if vocabulary.action(t) == "entry"),
                "manual_buy")  # whatever the type, a manual buy is never an exit (Turn.exit)


def precheck(uow: UnitOfWork, deps: Deps, agent_config: tuple[Agent, StoredConfig],
             signal: Signal, quote: PriceQuote | None) -> None:
    """The execution's own checks on the facts as they are now; raises ``Refused``."""
    agent, stored = agent_config
    mode = agent.trading_mode
    if agent.archived_at is not None:
        raise Refused("agent", f"agent {agent.name} is archived; it trades no more",
                      AGENT_ARCHIVED)
    if not agent.automation_on:
        raise Refused("agent", f"agent {agent.name} is paused in {mode}: resume it first "
                               f"(`fleet agents resume {agent.id}`)", AUTOMATION_PAUSED)
    wallet = uow.wallets.for_agent(agent.id, mode)
    turn = Turn(uow, deps, 0, signal, quote, deps.clock.now(), Touched())
    facts = facts_for(turn, agent, trading_config(stored), wallet)
    decision = decide(turn, facts)
    if isinstance(decision, Skip):
        raise _refusal(decision.reason, agent, signal, facts)
    assert wallet is not None and quote is not None  # the decision skips either missing
    if facts.live:
        if uow.submissions.in_flight(agent.id):
            raise _refusal(SWAP_IN_PROGRESS, agent, signal, facts)
        return
    assert isinstance(decision, Open | Dca)
    filled = _paper_fill(deps, wallet, decision, quote, facts)
    if isinstance(filled, Skip):
        raise _refusal(filled.reason, agent, signal, facts)


def _paper_fill(deps: Deps, wallet: Wallet, decision: Open | Dca, quote: PriceQuote,
                facts: Facts) -> Fill | Skip:
    """The simulated fill the execution would make (price impact and affordability)."""
    address = wallet.wallet_address
    if isinstance(decision, Open):
        return buying.fill_open(deps.paper, address, decision.size, quote, facts.config,
                                facts.balance)
    return buying.fill_or_skip(deps.paper.buy(address, quote.token_address,
                                              decision.amount_sol, quote), facts.balance)


def _shown(amount: Decimal) -> str:
    return format(sol(amount).normalize(), "f")


def _refusal(code: str, agent: Agent, signal: Signal, facts: Facts) -> Refused:
    """One line per docs/rules.md §3 reason: what stops the buy and the fix."""
    mint, asked = signal.token_address, signal.amount_sol
    available = f"only {_shown(facts.balance)} SOL is available"
    messages = {
        "wallet_not_found": ("agent", f"agent {agent.name} has no {agent.trading_mode} "
                                      "wallet (`fleet wallets assign` for live)"),
        "wallet_not_loaded": ("agent", f"the key of agent {agent.name}'s live wallet is not "
                                       "loaded: set its WALLET_n or start `fleet worker --live`"),
        "price_unavailable": ("token_mint", f"no price for {mint}: set one (`fleet prices set "
                                            f"--token {mint} --price-sol P`) or check the feed"),
        "insufficient_balance": ("sol", f"{available}" + (
            "" if asked is None else f" (asked {_shown(asked)} SOL"
            + (", and a live buy keeps a margin for its fees)" if facts.live
               else " plus fees)"))),
        "below_minimum_balance": ("sol", f"{available}, below the agent's minimum balance "
                                         "(purchaseLimits.minimumAgentBalance): give --sol"),
        "insufficient_balance_for_minimum": ("sol", f"{available}: the rules leave nothing to "
                                                    "spend above the minimum balance; give --sol"),
        "invalid_position_size": ("sol", "the agent's rules size no buy here; give --sol"),
        "max_positions": ("token_mint", f"agent {agent.name} already holds "
                                        f"{facts.open_count} open positions, the maximum "
                                        "(SIGNALFLEET_MAX_OPEN_POSITIONS): close one first"),
        "price_impact_too_high": ("sol", "the price impact is over purchaseLimits."
                                         "maxPriceImpact even at 70 % of the size: buy less"),
        SWAP_IN_PROGRESS: ("agent", f"agent {agent.name} has a live swap in flight: try again "
                                    "once it is confirmed"),
    }
    field, text = messages.get(code, ("agent", f"refused: {code}"))
    return Refused(field, text, code)


def _result(signal_id: int, agent: Agent, signal: Signal, deps: Deps) -> Bought:
    with deps.uow() as uow:
        execution = next((e for e in uow.executions.for_signal(signal_id)
                          if e.agent_id == agent.id), None)
        wallet = uow.wallets.for_agent(agent.id, agent.trading_mode)
        cash, position = Decimal(0), None
        if wallet is not None:
            cash = uow.balances.get(wallet.wallet_address, SOL_MINT)
            position = uow.positions.find_open(agent.id, wallet.wallet_address,
                                               signal.token_address)
    held = Decimal(0) if position is None else position.holding
    symbol = signal.symbol if position is None else position.token_symbol or signal.symbol
    # None: paused or archived between the look and the fan-out, so it reached nobody
    status, action, reason, tx = ("SKIPPED", "none", "not_eligible", None) if (
        execution is None) else (execution.status, execution.action, execution.reason,
                                 execution.transaction_id)
    return Bought(signal_id, agent, status, action, reason, tx, sol_balance=cash,
                  holding=held, token_address=signal.token_address, symbol=symbol)
