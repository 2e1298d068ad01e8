"""Users, agents and their wallets."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, cast, exists, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from domain.agents import Agent, TradingMode, TradingState
from domain.config import StoredConfig
from domain.errors import InvalidConfig, InvalidInput, NotFound
from domain.wallets import Wallet
from persistence import models as m
from persistence.repositories.signals import reaches_unapplied, unapplied_before

_AGENT_COLUMNS = (
    m.Agent.id, m.Agent.user_id, m.Agent.name, m.Agent.trading_mode,
    m.Agent.automated_trading_simulation, m.Agent.automated_trading_live, m.Agent.archived_at,
    m.Agent.exits_paused_simulation, m.Agent.exits_paused_live,
)


# The config column as its JSON text, decoded per row by ``stored_config``: decoded by the
# driver, one unreadable row (an integer of more than 4,300 digits, nesting past Python's
# recursion limit) raised for the whole statement, and every agent read with it failed.
CONFIG_TEXT = cast(m.Agent.trading_config, Text).label("config_text")


def stored_config(text: str | None) -> StoredConfig:
    """A row's stored config, or the typed refusal of one that cannot be read."""
    if text is None:
        return None
    try:
        value: dict[str, Any] = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONB holds valid JSON: only these two
        reason = "nested too deep" if isinstance(exc, RecursionError) else "a number too long"
        return InvalidConfig([("$", f"the stored config cannot be read ({reason})")])
    return value


def _agent(row: Any) -> Agent:
    return Agent(
        id=row.id, user_id=row.user_id, name=row.name, trading_mode=row.trading_mode,
        automated_trading_simulation=row.automated_trading_simulation,
        automated_trading_live=row.automated_trading_live, archived_at=row.archived_at,
        exits_paused_simulation=row.exits_paused_simulation,
        exits_paused_live=row.exits_paused_live,
    )


class UserRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def get_or_create(self, email: str) -> uuid.UUID:
        stmt = (
            pg_insert(m.User).values(email=email)
            .on_conflict_do_nothing(index_elements=[m.User.email]).returning(m.User.id)
        )
        created = self._s.execute(stmt).scalar_one_or_none()
        if created is not None:
            return created
        return self._s.execute(select(m.User.id).where(m.User.email == email)).scalar_one()

    def find(self, email: str) -> uuid.UUID | None:
        return self._s.execute(select(m.User.id).where(m.User.email == email)).scalar_one_or_none()

    def exists(self, user_id: uuid.UUID) -> bool:
        stmt = select(m.User.id).where(m.User.id == user_id)
        return self._s.execute(stmt).scalar_one_or_none() is not None


class AgentRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, agent: Agent, trading_config: dict[str, Any] | None = None) -> None:
        """Insert the agent; a name the user already gave another agent is refused
        (``UNIQUE(user_id, name)``) as bad input naming the field, not a database error."""
        stmt = pg_insert(m.Agent).values(
            id=agent.id, user_id=agent.user_id, name=agent.name, trading_mode=agent.trading_mode,
            automated_trading_simulation=agent.automated_trading_simulation,
            automated_trading_live=agent.automated_trading_live, trading_config=trading_config,
            exits_paused_simulation=agent.exits_paused_simulation,
            exits_paused_live=agent.exits_paused_live,
        ).on_conflict_do_nothing(constraint="uq_agents_user_id_name").returning(m.Agent.id)
        if self._s.execute(stmt).scalar_one_or_none() is None:
            raise InvalidInput("name", f"this user already has an agent named {agent.name!r}: "
                               "choose another name")

    def get(self, agent_id: uuid.UUID) -> Agent:
        row = self._s.execute(select(*_AGENT_COLUMNS).where(m.Agent.id == agent_id)).one_or_none()
        if row is None:
            raise NotFound("agent_id", f"no agent {agent_id}")
        return _agent(row)

    def get_for_update(self, agent_id: uuid.UUID) -> Agent:
        """The agent, with its row locked until the transaction ends (one trade at a time)."""
        stmt = select(*_AGENT_COLUMNS).where(m.Agent.id == agent_id).with_for_update(
            key_share=True)
        row = self._s.execute(stmt).one_or_none()
        if row is None:
            raise NotFound("agent_id", f"no agent {agent_id}")
        return _agent(row)

    def lock_with_config(self, agent_id: uuid.UUID) -> tuple[Agent, StoredConfig]:
        """Lock the agent row (one trade at a time per agent) and read its trading config.
        FOR NO KEY UPDATE: it serialises traders of the agent but not the KEY SHARE locks
        that inserting rows referencing the agent takes (claiming executions in bulk, then
        locking FOR UPDATE, deadlocked two chunks for the same agents)."""
        stmt = (select(*_AGENT_COLUMNS, CONFIG_TEXT)
                .where(m.Agent.id == agent_id).with_for_update(key_share=True))
        row = self._s.execute(stmt).one_or_none()
        if row is None:
            raise NotFound("agent_id", f"no agent {agent_id}")
        return _agent(row), stored_config(row.config_text)

    def candidates(self, *, user_id: uuid.UUID | None, holding_token: str | None = None,
                   not_executed_for: int | None = None, agent_id: uuid.UUID | None = None,
                   awaiting: tuple[int, Sequence[str]] | None = None,
                   ) -> list[tuple[Agent, StoredConfig]]:
        """Agents a signal may reach, filtered set-based in SQL (docs/rules.md §2 rules 1–2, and for
        exit signals, holding the token; ``agent_id``: a manual buy's one agent); the config
        rules are the domain's to apply. ``awaiting=(signal id, exit types)`` with
        ``holding_token``: also the agents an earlier entry signal for the token may still
        open a position for (docs/rules.md §3)."""
        live = m.Agent.trading_mode == "live"
        stmt = select(*_AGENT_COLUMNS, CONFIG_TEXT).where(
            m.Agent.archived_at.is_(None),
            or_(and_(live, m.Agent.automated_trading_live),
                and_(~live, m.Agent.automated_trading_simulation)))
        if user_id is not None:
            stmt = stmt.where(m.Agent.user_id == user_id)
        if agent_id is not None:
            stmt = stmt.where(m.Agent.id == agent_id)
        if holding_token is not None:
            holds: ColumnElement[bool] = exists().where(m.AgentPosition.agent_id == m.Agent.id,
                                   m.AgentPosition.token_address == holding_token)
            if awaiting is not None:
                earlier = unapplied_before(awaiting[0], awaiting[1]).subquery()
                holds = or_(holds, reaches_unapplied(m.Agent, earlier))
            stmt = stmt.where(holds)
        if not_executed_for is not None:
            stmt = stmt.where(~exists().where(m.SignalExecution.agent_id == m.Agent.id,
                                              m.SignalExecution.signal_id == not_executed_for))
        rows = self._s.execute(stmt.order_by(m.Agent.id))
        return [(_agent(row), stored_config(row.config_text)) for row in rows]

    def configs(self, agent_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, StoredConfig]:
        """Many agents' stored configs in one query (the sweep's read); an unreadable one is
        that agent's ``InvalidConfig`` value."""
        stmt = select(m.Agent.id, CONFIG_TEXT).where(m.Agent.id.in_(list(agent_ids)))
        return {row.id: stored_config(row.config_text) for row in self._s.execute(stmt)}

    def trading_states(self, agent_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, TradingState]:
        """Many agents' flags, stored configs and wallet modes in two queries (the sweep's
        read); an unreadable config is that agent's ``InvalidConfig`` value."""
        ids = list(agent_ids)
        modes: dict[uuid.UUID, dict[str, TradingMode]] = {a: {} for a in ids}
        wallets = select(m.AgentWallet.agent_id, m.AgentWallet.wallet_address,
                         m.AgentWallet.wallet_type).where(m.AgentWallet.agent_id.in_(ids))
        for w in self._s.execute(wallets):
            modes[w.agent_id][w.wallet_address] = w.wallet_type
        stmt = select(*_AGENT_COLUMNS, CONFIG_TEXT).where(m.Agent.id.in_(ids))
        return {row.id: TradingState(_agent(row), stored_config(row.config_text), modes[row.id])
                for row in self._s.execute(stmt)}

    def set_pause(self, agent_id: uuid.UUID, mode: TradingMode, *,
                  automation: bool | None = None, exits_paused: bool | None = None) -> None:
        """Set a mode's automated-trading and exits-paused flags (None leaves one as is)."""
        live = mode == "live"
        values: dict[str, bool] = {}
        if automation is not None:
            values["automated_trading_live" if live else "automated_trading_simulation"] = \
                automation
        if exits_paused is not None:
            values["exits_paused_live" if live else "exits_paused_simulation"] = exits_paused
        if values:
            self._s.execute(update(m.Agent).where(m.Agent.id == agent_id).values(**values))

    def set_mode(self, agent_id: uuid.UUID, mode: TradingMode) -> None:
        self._s.execute(update(m.Agent).where(m.Agent.id == agent_id).values(trading_mode=mode))

    def get_config(self, agent_id: uuid.UUID) -> StoredConfig:
        stmt = select(CONFIG_TEXT).where(m.Agent.id == agent_id)
        return stored_config(self._s.execute(stmt).scalar_one_or_none())

    def set_config(self, agent_id: uuid.UUID, config: dict[str, Any] | None) -> None:
        stmt = update(m.Agent).where(m.Agent.id == agent_id).values(trading_config=config)
        self._s.execute(stmt)

    def name_taken(self, user_id: uuid.UUID, name: str, *,
                   other_than: uuid.UUID | None = None) -> bool:
        same = exists().where(m.Agent.user_id == user_id, m.Agent.name == name)
        if other_than is not None:
            same = same.where(m.Agent.id != other_than)
        return bool(self._s.execute(select(same)).scalar_one())

    def rename(self, agent_id: uuid.UUID, name: str) -> None:
        self._s.execute(update(m.Agent).where(m.Agent.id == agent_id).values(name=name))

    def archive(self, agent_id: uuid.UUID, now: datetime) -> None:
        stmt = update(m.Agent).where(m.Agent.id == agent_id).values(archived_at=now)
        self._s.execute(stmt)

    def all(self, user_id: uuid.UUID | None = None) -> Sequence[Agent]:
        stmt = select(*_AGENT_COLUMNS).order_by(m.Agent.created_at, m.Agent.id)
        if user_id is not None:
            stmt = stmt.where(m.Agent.user_id == user_id)
        return [_agent(row) for row in self._s.execute(stmt)]


class WalletRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, wallet: Wallet) -> None:
        self._s.execute(insert(m.AgentWallet).values(
            wallet_address=wallet.wallet_address, agent_id=wallet.agent_id,
            wallet_type=wallet.wallet_type,
        ))

    def for_agent(self, agent_id: uuid.UUID, wallet_type: str) -> Wallet | None:
        stmt = select(m.AgentWallet.wallet_address).where(
            m.AgentWallet.agent_id == agent_id, m.AgentWallet.wallet_type == wallet_type
        )
        address = self._s.execute(stmt).scalar_one_or_none()
        return None if address is None else Wallet(address, agent_id, wallet_type)
