"""One agent's turn at a signal (docs/rules.md §3, §6, §10): read the facts under the agent
lock, let ``domain.entry`` decide, write what it decided.

A simulated agent fills on paper in this transaction; a live agent gets a swap intent that
``live.execute`` runs after the commit (one live swap at a time per agent).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from domain import entry
from domain.agents import Agent
from domain.config import TradingConfig
from domain.eligibility import AUTOMATION_PAUSED
from domain.entry import Close, Dca, Facts, Open, Skip
from domain.errors import PermanentError
from domain.ledger import SOL_MINT
from domain.ports import PriceQuote, UnitOfWork
from domain.signals import Signal
from domain.submissions import CLOSE, DCA, OPEN
from domain.wallet_sync import TOKENS_LEFT
from domain.wallets import Wallet
from workers.handlers.live.intents import PENDING, Intent, record_intent
from workers.handlers.shared import buying, trades
from workers.handlers.shared.deps import Deps
from workers.handlers.shared.trades import Order, Touched

AGENT_ARCHIVED = "agent_archived"
# Not this agent's turn (docs/rules.md §3): nothing recorded, the agent is tried again later.
WAIT = "WAIT"


@dataclass(frozen=True)
class Outcome:
    agent_id: uuid.UUID
    status: str  # EXECUTED / SKIPPED / FAILED / PENDING, WAIT, or "duplicate" (already executed)
    action: str
    reason: str | None = None
    transaction_id: uuid.UUID | None = None
    submission_id: uuid.UUID | None = None  # a live swap, handed to live.execute


@dataclass(frozen=True)
class Turn:
    """One agent's turn: the signal, the price it is decided at, and the transaction."""

    uow: UnitOfWork
    deps: Deps
    signal_id: int
    signal: Signal
    quote: PriceQuote | None
    now: datetime
    touched: Touched

    @property
    def exit(self) -> bool:
        """An exit signal in this deployment's vocabulary (a manual buy never is)."""
        return not self.signal.manual and self.deps.vocabulary.is_exit(self.signal.signal_type)

    @property
    def order(self) -> Order:
        """The trade's circumstances; only asked for once a price decided a trade."""
        if self.quote is None:
            raise PermanentError("a trade without a price")
        return Order(self.quote, self.now, self.touched, self.signal_id)


def skipped(agent_id: uuid.UUID, reason: str) -> Outcome:
    return Outcome(agent_id, "SKIPPED", "none", reason)


def facts_for(turn: Turn, agent: Agent, config: TradingConfig,
              wallet: Wallet | None) -> Facts:
    """Everything ``domain.entry`` needs about this agent and token, read FOR UPDATE."""
    now, max_open = turn.now, turn.deps.policy.max_open_positions
    if wallet is None:
        return Facts(config, now, wallet_found=False)
    live = wallet.wallet_type == "live"
    key_loaded = not live or turn.deps.venue.has_key(wallet.wallet_address)
    price = None if turn.quote is None else turn.quote.price_sol
    uow, token = turn.uow, turn.signal.token_address
    position = uow.positions.find_open(agent.id, wallet.wallet_address, token, for_update=True)
    if turn.exit:
        return Facts(config, now, True, key_loaded, live, price, position=position)
    balance = uow.balances.get(wallet.wallet_address, SOL_MINT, for_update=True)
    count = 0 if position else uow.positions.count_open(agent.id, wallet.wallet_address)
    return Facts(config, now, True, key_loaded, live, price, balance, position, count, max_open)


def decide(turn: Turn, facts: Facts) -> Open | Dca | Close | Skip:
    """``domain.entry``'s decision for this turn: an exit signal, an operator's manual buy (its
    own size, no DCA rules), or an entry signal."""
    rng, signal = turn.deps.policy.rng, turn.signal
    if turn.exit:
        return entry.decide_exit_signal(facts)
    if signal.manual:
        return entry.decide_manual(facts, signal.amount_sol, rng)
    return entry.decide_entry(facts, rng)


def take_turn(turn: Turn, agent: Agent, config: TradingConfig) -> Outcome:
    # Read under the agent lock: archived or paused after the fan-out chose it (§11).
    if agent.archived_at is not None:
        return skipped(agent.id, AGENT_ARCHIVED)
    if not agent.automation_on:
        return skipped(agent.id, AUTOMATION_PAUSED)
    wallet = turn.uow.wallets.for_agent(agent.id, agent.trading_mode)
    facts = facts_for(turn, agent, config, wallet)
    decision = decide(turn, facts)
    if isinstance(decision, Skip):
        return skipped(agent.id, decision.reason)
    assert wallet is not None  # the decisions skip an agent without a wallet
    if facts.live:
        return _live(turn, wallet, decision)
    return _paper(turn, wallet, decision, facts)


def _paper(turn: Turn, wallet: Wallet, decision: Open | Dca | Close, facts: Facts) -> Outcome:
    uow, paper, order = turn.uow, turn.deps.paper, turn.order
    address = wallet.wallet_address
    if isinstance(decision, Close):
        position = decision.position
        fill = paper.sell(address, position.token_address, position.holding, order.quote)
        trade = trades.close(uow, position, fill, "signal", order)
        return Outcome(wallet.agent_id, "EXECUTED", "close", None, trade.sale_transaction_id)
    if isinstance(decision, Dca):
        bought = buying.fill_or_skip(
            paper.buy(address, decision.position.token_address, decision.amount_sol,
                      order.quote), facts.balance)
        if isinstance(bought, Skip):
            return skipped(wallet.agent_id, bought.reason)
        tx, _ = trades.dca_into(uow, wallet, facts.config, decision.position, bought, order)
        return Outcome(wallet.agent_id, "EXECUTED", "dca", None, tx.id)
    filled = buying.fill_open(paper, address, decision.size, order.quote, facts.config,
                              facts.balance)
    if isinstance(filled, Skip):
        return skipped(wallet.agent_id, filled.reason)
    token = (turn.signal.token_address, turn.signal.symbol)
    tx = trades.open_new(uow, wallet, facts.config, token, filled, order)
    return Outcome(wallet.agent_id, "EXECUTED", "open", None, tx.id)


def _live(turn: Turn, wallet: Wallet, decision: Open | Dca | Close) -> Outcome:
    """Record the swap's intent; ``live.execute`` runs it after the commit. One live swap at
    a time per agent (the balance it was sized on must still hold)."""
    if turn.uow.submissions.in_flight(wallet.agent_id):  # the caller retries it later
        return Outcome(wallet.agent_id, WAIT, "none", entry.SWAP_IN_FLIGHT)
    if isinstance(decision, Close):
        p = decision.position
        if p.holding <= 0:  # every token left the wallet: nothing to sell (§12)
            return skipped(wallet.agent_id, TOKENS_LEFT)
        intent = Intent(CLOSE, p.token_address, p.token_symbol, p.holding, "signal")
    elif isinstance(decision, Dca):
        p = decision.position
        intent = Intent(DCA, p.token_address, p.token_symbol, decision.amount_sol)
    else:
        intent = Intent(OPEN, turn.signal.token_address, turn.signal.symbol, decision.size)
    submission = record_intent(turn.uow, wallet, intent, turn.order)
    return Outcome(wallet.agent_id, PENDING, intent.kind, None, None, submission.id)
