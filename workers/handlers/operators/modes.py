"""Use cases: pause and resume an agent's automation per mode, and switch its trading mode
(docs/rules.md §11).

Each locks the agent row as every trade does, so it serialises with the agent's trading: a
trade that starts after the commit sees the new flags (signals are re-checked under the lock
at execution, sweeps before acting).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog

from domain.agents import TRADING_MODES, Agent, TradingMode
from domain.errors import InvalidInput
from domain.ports import LiveVenue, UnitOfWork

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PauseState:
    """A mode's flags after the change: entries and DCA on, automated exits on."""

    agent: Agent
    mode: TradingMode
    entries: bool
    exits: bool


def _mode(agent: Agent, mode: str | None) -> TradingMode:
    if mode is None:
        return agent.trading_mode
    if mode not in TRADING_MODES:
        raise InvalidInput("mode", f"must be one of {', '.join(TRADING_MODES)}")
    return mode


def _set(uow: UnitOfWork, agent_id: uuid.UUID, mode: str | None,
         automation: bool | None, exits_paused: bool | None) -> PauseState:
    with uow:
        agent: Agent = uow.agents.get_for_update(agent_id)
        chosen = _mode(agent, mode)
        uow.agents.set_pause(agent_id, chosen, automation=automation, exits_paused=exits_paused)
        after: Agent = uow.agents.get(agent_id)
        uow.commit()
    state = PauseState(after, chosen, after.automation_in(chosen),
                       not after.exits_paused_in(chosen))
    log.info("agent.automation_set", agent_id=str(agent_id), mode=chosen,
             entries=state.entries, exits=state.exits)
    return state


def pause(uow: UnitOfWork, agent_id: uuid.UUID, mode: str | None = None, *,
          exits: bool = False) -> PauseState:
    """No new entries or DCA in ``mode`` (default: the agent's current mode); with ``exits``
    its automated exits (stop loss, take profit, stale trade) stop too."""
    return _set(uow, agent_id, mode, False, True if exits else None)


def resume(uow: UnitOfWork, agent_id: uuid.UUID, mode: str | None = None, *,
           exits_only: bool = False) -> PauseState:
    """Entries, DCA and automated exits of ``mode`` run again; ``exits_only`` resumes the
    automated exits alone (entries and DCA stay paused)."""
    return _set(uow, agent_id, mode, None if exits_only else True, False)


def switch_mode(uow: UnitOfWork, venue: LiveVenue, agent_id: uuid.UUID, mode: str, *,
                force: bool = False) -> tuple[Agent, TradingMode]:
    """Make ``mode`` the agent's trading mode (returns the agent as it was and the mode).
    Live needs a live wallet assigned and its key loaded (here, or announced by a live
    worker); open positions in
    the mode being left refuse the switch unless ``force`` (they keep being swept in their
    own wallet's mode)."""
    with uow:
        agent: Agent = uow.agents.get_for_update(agent_id)
        target = _mode(agent, mode)
        if target == agent.trading_mode:
            return agent, target
        wallet = uow.wallets.for_agent(agent_id, target)
        if target == "live" and wallet is None:
            raise InvalidInput("mode", f"agent {agent.name} has no live wallet; assign one "
                                       f"with `fleet wallets assign --agent {agent_id} "
                                       "--address ADDRESS`")
        if target == "live" and wallet is not None and not venue.has_key(wallet.wallet_address):
            raise InvalidInput("mode", f"the key of live wallet {wallet.wallet_address} is "
                                       "not loaded; set WALLET_n to its secret here or start "
                                       "a live worker holding it (`fleet worker --live`)")
        _refuse_open_positions(uow, agent, target, force)
        uow.agents.set_mode(agent_id, target)
        uow.commit()
    log.info("agent.mode_switched", agent_id=str(agent_id), old=agent.trading_mode, new=target,
             forced=force)
    return agent, target


def _refuse_open_positions(uow: UnitOfWork, agent: Agent, target: TradingMode,
                           force: bool) -> None:
    leaving = uow.wallets.for_agent(agent.id, agent.trading_mode)
    if force or leaving is None:
        return
    held = [p for p in uow.positions.list_open(agent_id=agent.id)
            if p.wallet_address == leaving.wallet_address]
    if held:
        tokens = ", ".join(sorted(p.token_symbol or p.token_address for p in held))
        raise InvalidInput("mode", f"agent {agent.name} holds {len(held)} open position(s) "
                                   f"in {agent.trading_mode} ({tokens}); close them first "
                                   "(`fleet positions close ID`) or pass --force (they keep "
                                   f"being swept in {agent.trading_mode})")
