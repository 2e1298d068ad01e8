"""Use cases: rename an agent and archive (retire) it.

Rename and archive lock the agent row as every trade does, so they serialise with its
trading. Archiving is refused while the agent holds an open position (in either wallet): the
operator closes them first (``fleet positions close``); an archived agent receives no signal.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog

from domain.agents import Agent
from domain.errors import InvalidInput
from domain.json_text import unstorable
from domain.ports import Clock, UnitOfWork

log = structlog.get_logger(__name__)


def check_name(name: str) -> str:
    """docs/rules.md §15: 3 to 50 characters, no surrounding spaces, storable text."""
    if not 3 <= len(name.strip()) <= 50 or name != name.strip():
        raise InvalidInput("name", "must be 3 to 50 characters without surrounding spaces")
    if unstorable(name):
        raise InvalidInput("name", "must not contain NUL characters or lone surrogates")
    return name


def rename(uow: UnitOfWork, agent_id: uuid.UUID, name: str) -> Agent:
    check_name(name)
    with uow:
        agent: Agent = uow.agents.get_for_update(agent_id)
        if uow.agents.name_taken(agent.user_id, name, other_than=agent_id):
            raise InvalidInput("name", f"this user already has an agent named {name!r}")
        uow.agents.rename(agent_id, name)
        uow.commit()
    log.info("agent.renamed", agent_id=str(agent_id), old=agent.name, new=name)
    return agent


def archive(uow: UnitOfWork, clock: Clock, agent_id: uuid.UUID) -> datetime:
    """Retire the agent; refused (naming how many) while it has open positions."""
    with uow:
        agent: Agent = uow.agents.get_for_update(agent_id)
        if agent.archived_at is not None:
            return agent.archived_at  # already archived: nothing changes
        held = uow.positions.list_open(agent_id=agent_id)
        if held:
            tokens = ", ".join(sorted(p.token_symbol or p.token_address for p in held))
            raise InvalidInput("agent_id", f"agent {agent.name} has {len(held)} open "
                                           f"position(s) ({tokens}); close them first with "
                                           "`fleet positions close ID`")
        now = clock.now()
        uow.agents.archive(agent_id, now)
        uow.commit()
    log.info("agent.archived", agent_id=str(agent_id))
    return now
