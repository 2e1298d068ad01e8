"""Use case: sweep the open positions of some tokens at their cached prices (docs/rules.md
§7–§10).

Per position, in the rules' order: stop loss, take profit, stale trade, then DCA. A paused
mode makes no DCA, and no automated exit either once its exits are paused too (§11): the
position is reported skipped with the reason. A position is
evaluated only with a fresh price; a stale or missing one skips it (never trade on a guess).
Peak and stop-loss changes without a trade are saved together in one batched transaction.
Every trade is its own transaction under the agent lock, re-evaluated against the position
re-read FOR UPDATE, so two overlapping sweeps never sell (or buy) twice. A live position's
exit, take-profit sale or DCA buy records a swap intent (one in flight per agent) that
``live.execute`` runs after the commit; the fill is written when the chain confirms it.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

import structlog

from domain import bands, dca, exits, take_profit
from domain.agents import Agent, TradingState
from domain.bands import Candidate
from domain.config import TradingConfig
from domain.eligibility import AUTOMATION_PAUSED
from domain.entry import Skip
from domain.errors import InvalidConfig, TransientError
from domain.ledger import SOL_MINT
from domain.ports import Fill, PriceQuote, UnitOfWork
from domain.positions import Position
from domain.records import StopChange
from domain.sizing import INSUFFICIENT_BALANCE
from domain.stop_loss import StopLossDecision
from domain.submissions import CLOSE, SELL
from domain.submissions import DCA as DCA_KIND
from domain.wallet_sync import TOKENS_LEFT
from domain.wallets import Wallet
from workers.handlers.live.intents import Intent, record_intent
from workers.handlers.shared import buying, trades
from workers.handlers.shared.configs import trading_config, trading_config_or_error
from workers.handlers.shared.deps import Deps
from workers.handlers.shared.trades import Order, Touched

log = structlog.get_logger(__name__)

DCA = "dca"
INVALID_CONFIG = "invalid_config"  # a skipped position's reason: its agent's config is invalid
EXITS_PAUSED = "exits_paused"  # ... the operator paused the automated exits of its mode
WALLET_TYPES = ("simulation", "live")
LIVE_PREFIX = "live_"  # a report action: a live exit recorded (it fills in live.execute)


@dataclass
class SweepReport:
    skipped_tokens: list[str] = field(default_factory=list)
    actions: Counter[str] = field(default_factory=Counter)
    stops_updated: int = 0
    invalid_configs: dict[uuid.UUID, InvalidConfig] = field(default_factory=dict)  # by agent
    skipped_positions: dict[uuid.UUID, str] = field(default_factory=dict)  # id -> reason


def sweep_all(deps: Deps) -> int:
    """Enqueue one ``positions.sweep_tokens`` per chunk of tokens with open positions: a
    slow token delays only its own chunk. Returns how many were enqueued."""
    with deps.uow() as uow:
        tokens: list[str] = uow.positions.open_tokens()
    size = deps.policy.sweep_chunk_size
    batches = [tokens[i:i + size] for i in range(0, len(tokens), size)]
    for batch in batches:
        deps.queue.sweep_tokens(batch)
    return len(batches)


def sweep(token_addresses: Sequence[str], deps: Deps) -> SweepReport:
    """Evaluate only what the tick can trigger: PostgreSQL returns the positions whose stored
    band (domain/bands.py) the price or the time leaves, or whose band no longer matches the
    row, the agent's config or these rules (migration 0010 keeps that in the database)."""
    report = SweepReport()
    now = deps.clock.now()
    quotes = _fresh_quotes(token_addresses, deps, now, report)
    found: Sequence[Candidate] = []
    if quotes:
        with deps.uow() as uow:
            found = uow.positions.sweep_candidates(
                {t: q.price_sol for t, q in quotes.items()}, now, bands.basis())
            states = uow.agents.trading_states({c.position.agent_id for c in found}) \
                if found else {}
        configs = _configs(states, report)
        held = _Held()
        for candidate in found:
            position = candidate.position
            config = configs.get(position.agent_id)
            if config is None:
                _skip(position, INVALID_CONFIG, report)
                continue
            if position.holding <= 0:  # every token left the wallet (docs/rules.md §12)
                _skip(position, TOKENS_LEFT, report)
                continue
            state = states[position.agent_id]
            mode = state.mode_of(position.wallet_address)
            _one(_Swept(candidate, state.agent, mode), quotes[position.token_address], config,
                 deps, held, report)
        _save_held(held, deps, now)
        report.stops_updated = len(held.stops)
    log.info("sweep.done", tokens=len(quotes), positions=len(found),
             actions=dict(report.actions), stops_updated=report.stops_updated,
             skipped=len(report.skipped_tokens), skipped_positions=len(report.skipped_positions))
    return report


def _fresh_quotes(tokens: Sequence[str], deps: Deps, now: datetime,
                  report: SweepReport) -> dict[str, PriceQuote]:
    wanted = list(dict.fromkeys(tokens))
    cached = deps.cache.latest_prices(wanted)
    oldest = now - deps.policy.price_freshness
    fresh = {t: q for t, q in cached.items() if q.observed_at >= oldest}
    report.skipped_tokens = [t for t in wanted if t not in fresh]
    for token in report.skipped_tokens:
        quote = cached.get(token)
        log.warning("sweep.price_stale", token=token, reason="missing" if quote is None
                    else "stale", observed_at=None if quote is None else quote.observed_at)
    return fresh


def _configs(states: dict[uuid.UUID, TradingState],
             report: SweepReport) -> dict[uuid.UUID, TradingConfig]:
    """Each agent's parsed config; an agent whose stored config no longer validates (written
    before a bound existed, or by hand) is reported and left out: its positions are skipped,
    everyone else's are swept."""
    out: dict[uuid.UUID, TradingConfig] = {}
    for agent_id, state in states.items():
        parsed = trading_config_or_error(state.config)
        if isinstance(parsed, InvalidConfig):
            report.invalid_configs[agent_id] = parsed
            log.error("sweep.agent_config_invalid", agent_id=str(agent_id),
                      errors=[f"{path}: {message}" for path, message in parsed.errors[:5]],
                      fix="fleet agents config AGENT_ID --set FILE")
        else:
            out[agent_id] = parsed
    return out


def _skip(position: Position, reason: str, report: SweepReport) -> None:
    report.skipped_positions[position.id] = reason
    log.warning("sweep.position_skipped", position_id=str(position.id),
                agent_id=str(position.agent_id), reason=reason)


@dataclass(frozen=True)
class _Swept:
    """A position (with its row version) with its agent's flags and the mode it trades in
    (its wallet's)."""

    candidate: Candidate
    agent: Agent
    mode: str

    @property
    def position(self) -> Position:
        return self.candidate.position


@dataclass
class _Held:
    """What a sweep writes for the positions it holds: stop changes, and the bands of the
    positions after them or of those whose stored band was no longer valid."""

    stops: list[StopChange] = field(default_factory=list)
    bands: list[bands.BandWrite] = field(default_factory=list)

    def hold(self, swept: _Swept, tick: exits.Tick, config: TradingConfig,
             now: datetime) -> None:
        candidate = swept.candidate
        if tick.stop_loss.changed:
            self.stops.append(_stop_change(candidate.position.id, tick.stop_loss))
        elif candidate.band_valid:
            return  # only the price left the band: nothing to write
        after = _with_stop(candidate.position, tick.stop_loss, now)
        band = bands.position_band(after, config)
        if band is not None:
            self.bands.append(bands.BandWrite(after.id, candidate.version, band))


def paused_reason(agent: Agent, mode: str, action: object) -> str | None:
    """docs/rules.md §11: a paused mode makes no DCA; its automated exits (stop loss, take
    profit, stale trade) stop only when the operator paused them explicitly."""
    if isinstance(action, dca.DcaDecision) and not agent.automation_in(mode):
        return AUTOMATION_PAUSED
    if isinstance(action, exits.Exit | take_profit.TakeProfitDecision) \
            and agent.exits_paused_in(mode):
        return EXITS_PAUSED
    return None


def _one(swept: _Swept, quote: PriceQuote, config: TradingConfig, deps: Deps,
         held: _Held, report: SweepReport) -> None:
    position, now = swept.position, deps.clock.now()
    tick = exits.evaluate_tick(position, quote.price_sol, config, now)
    paused = paused_reason(swept.agent, swept.mode, tick.action)
    if isinstance(tick.action, exits.Hold) or paused is not None:
        held.hold(swept, tick, config, now)
        if paused is not None:
            _skip(position, paused, report)
        return
    try:
        done = _act_locked(position.id, position.agent_id, quote, deps, swept.mode)
    except TransientError:
        raise
    except Exception as exc:  # one position's failure must not stop the others
        log.exception("sweep.position_failed", position_id=str(position.id),
                      agent_id=str(position.agent_id), error=type(exc).__name__)
        return
    if done is not None:
        report.actions[done] += 1


def _stop_change(position_id: uuid.UUID, stop: StopLossDecision) -> StopChange:
    return (position_id, stop.peak_price, stop.stop_loss_percent)


def _save_held(held: _Held, deps: Deps, now: datetime) -> None:
    if not held.stops and not held.bands:
        return
    with deps.uow() as uow:
        uow.positions.save_sweep(held.stops, held.bands, now, bands.basis())
        uow.commit()


def _act_locked(position_id: uuid.UUID, agent_id: uuid.UUID, quote: PriceQuote,
                deps: Deps, mode: str) -> str | None:
    """Lock the agent, re-read the position FOR UPDATE, decide again (the operator may have
    paused the agent meanwhile) and write."""
    touched = Touched()
    with deps.uow() as uow:
        agent, stored = uow.agents.lock_with_config(agent_id)
        position: Position | None = uow.positions.get(position_id, for_update=True)
        if position is None:  # closed by an overlapping sweep or a signal meanwhile
            return None
        config, now = trading_config(stored), deps.clock.now()
        tick = exits.evaluate_tick(position, quote.price_sol, config, now)
        if tick.stop_loss.changed:
            uow.positions.update_stops([_stop_change(position.id, tick.stop_loss)], now)
        order = Order(quote, now, touched)
        action = tick.action
        if (paused := paused_reason(agent, mode, action)) is not None:
            log.info("sweep.paused_meanwhile", position_id=str(position_id), reason=paused)
            action = exits.Hold()
        done = _apply(uow, _with_stop(position, tick.stop_loss, now), action, config,
                      deps, order)
        uow.after_commit(partial(deps.write_cache, touched))
        uow.commit()
    if done is not None:
        log.info("position.swept", action=done, position_id=str(position_id),
                 agent_id=str(agent_id), token=quote.token_address, price=str(quote.price_sol))
    return done


def _with_stop(position: Position, stop: StopLossDecision, now: datetime) -> Position:
    if not stop.changed:
        return position
    return dataclasses.replace(position, peak_price=stop.peak_price,
                               current_stop_loss_percentage=stop.stop_loss_percent,
                               last_stop_loss_update=now)


def _apply(uow: UnitOfWork, position: Position, action: object, config: TradingConfig,
           deps: Deps, order: Order) -> str | None:
    if isinstance(action, exits.Hold):
        return None
    wallet = position_wallet(uow, position)
    if wallet is None:
        return None
    if wallet.wallet_type == "live":
        if not deps.venue.has_key(wallet.wallet_address):
            log.warning("sweep.wallet_not_loaded", position_id=str(position.id),
                        wallet=position.wallet_address)
            return None
        return _live_action(uow, wallet, position, action, deps, order)
    paper, address = deps.paper, wallet.wallet_address
    if isinstance(action, exits.Exit):
        fill = paper.sell(address, position.token_address, position.holding, order.quote)
        trades.close(uow, position, fill, action.reason, order)
        return action.reason
    if isinstance(action, take_profit.TakeProfitDecision):
        fill = paper.sell(address, position.token_address, action.sell_amount, order.quote)
        trades.take_profit_sale(uow, position, action, fill, order)
        return exits.TAKE_PROFIT
    if isinstance(action, dca.DcaDecision):
        filled = _dca_fill(uow, wallet, position, action, deps, order)
        if filled is None:
            return None
        trades.dca_into(uow, wallet, config, position, filled, order)
        return DCA
    return None


def _live_action(uow: UnitOfWork, wallet: Wallet, position: Position, action: object,
                 deps: Deps, order: Order) -> str | None:
    """Record the live swap of an exit (``close``, with its reason), a take-profit sale
    (``sell``, with its ladder step) or a DCA buy on a dip (``dca``), and send it to
    ``live.execute`` once committed; none while the agent has a live swap in flight (the
    next sweep decides again). The position changes only when the swap is confirmed."""
    intent = _intent(uow, wallet, position, action)
    if intent is None:
        return None
    if uow.submissions.in_flight(position.agent_id):
        log.info("sweep.live_in_flight", position_id=str(position.id), kind=intent.kind)
        return None
    submission = record_intent(uow, wallet, intent, order)
    uow.after_commit(partial(deps.queue.run_live, submission.id))
    return LIVE_PREFIX + (intent.close_reason or intent.kind)


def _intent(uow: UnitOfWork, wallet: Wallet, position: Position,
            action: object) -> Intent | None:
    token, symbol = position.token_address, position.token_symbol
    if isinstance(action, exits.Exit):
        return Intent(CLOSE, token, symbol, position.holding, action.reason)
    if isinstance(action, take_profit.TakeProfitDecision):
        return Intent(SELL, token, symbol, action.sell_amount, take_profit=action)
    if isinstance(action, dca.DcaDecision):
        # A live buy's fees are unknown until it lands: keep a margin (docs/rules.md §12).
        balance = uow.balances.get(wallet.wallet_address, SOL_MINT, for_update=True)
        if action.buy_amount_sol >= balance:
            log.info("sweep.dca_skipped", position_id=str(position.id),
                     reason=INSUFFICIENT_BALANCE)
            return None
        return Intent(DCA_KIND, token, symbol, action.buy_amount_sol)
    return None


def position_wallet(uow: UnitOfWork, position: Position) -> Wallet | None:
    """The position's own wallet (its type says how it trades), whatever the agent's mode."""
    for wallet_type in WALLET_TYPES:
        wallet: Wallet | None = uow.wallets.for_agent(position.agent_id, wallet_type)
        if wallet is not None and wallet.wallet_address == position.wallet_address:
            return wallet
    log.warning("sweep.wallet_not_found", position_id=str(position.id),
                wallet=position.wallet_address)
    return None


def _dca_fill(uow: UnitOfWork, wallet: Wallet, position: Position, decision: dca.DcaDecision,
              deps: Deps, order: Order) -> Fill | None:
    """The DCA buy's paper fill, or None (logged) when the balance cannot pay for it."""
    balance = uow.balances.get(wallet.wallet_address, SOL_MINT, for_update=True)
    filled = buying.fill_or_skip(
        deps.paper.buy(wallet.wallet_address, position.token_address, decision.buy_amount_sol,
                       order.quote), balance)
    if isinstance(filled, Skip):
        log.info("sweep.dca_skipped", position_id=str(position.id), reason=filled.reason)
        return None
    return filled
