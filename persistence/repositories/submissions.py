"""Live swaps (``swap_submissions``) and the live wallets agents use.

Every status change is a guarded ``UPDATE … WHERE status = <expected> RETURNING``: the one
transaction that moves a submission out of a status owns what follows (sending, recording
the fill), so a redelivered task or a second reconciler run does nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session

from domain.errors import NotFound
from domain.submissions import IN_FLIGHT, INTENT, SUBMITTED, SwapSubmission
from persistence import models as m

_S = m.SwapSubmission
_COLUMNS = (
    _S.id, _S.agent_id, _S.wallet_address, _S.kind, _S.token_address, _S.amount_in,
    _S.signal_id, _S.token_symbol, _S.close_reason, _S.quote, _S.signature,
    _S.signed_transaction, _S.last_valid_block_height, _S.status, _S.error,
    _S.transaction_id, _S.created_at, _S.updated_at,
)


def _submission(row: Any) -> SwapSubmission:
    return SwapSubmission(**row._asdict())


class SwapSubmissionRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, sub: SwapSubmission, now: datetime) -> uuid.UUID:
        self._s.execute(insert(_S).values(
            id=sub.id, agent_id=sub.agent_id, wallet_address=sub.wallet_address,
            signal_id=sub.signal_id, kind=sub.kind, close_reason=sub.close_reason,
            token_address=sub.token_address, token_symbol=sub.token_symbol, side=sub.side,
            amount_in=sub.amount_in, quote=None if sub.quote is None else dict(sub.quote),
            status=INTENT, created_at=now, updated_at=now))
        return sub.id

    def get(self, submission_id: uuid.UUID) -> SwapSubmission:
        row = self._s.execute(select(*_COLUMNS).where(_S.id == submission_id)).one_or_none()
        if row is None:
            raise NotFound("submission_id", f"no swap submission {submission_id}")
        return _submission(row)

    def in_flight(self, agent_id: uuid.UUID) -> bool:
        """True while the agent has a swap not yet confirmed, failed or expired."""
        stmt = select(_S.id).where(_S.agent_id == agent_id, _S.status.in_(IN_FLIGHT)).limit(1)
        return self._s.execute(stmt).first() is not None

    def busy_since(self, agent_id: uuid.UUID, since: datetime) -> bool:
        """True while the agent has a swap in flight or one that changed at or after
        ``since`` (the wallet sync waits for the chain and the ledger to settle)."""
        stmt = select(_S.id).where(_S.agent_id == agent_id, or_(
            _S.status.in_(IN_FLIGHT), _S.updated_at >= since)).limit(1)
        return self._s.execute(stmt).first() is not None

    def mark_submitted(self, sub: SwapSubmission, now: datetime) -> bool:
        """intent → submitted with the signed bytes; False if it already left ``intent``."""
        stmt = (update(_S).where(_S.id == sub.id, _S.status == INTENT)
                .values(status=SUBMITTED, signature=sub.signature,
                        signed_transaction=sub.signed_transaction,
                        last_valid_block_height=sub.last_valid_block_height,
                        amount_in=sub.amount_in,
                        quote=None if sub.quote is None else dict(sub.quote), updated_at=now)
                .returning(_S.id))
        return self._s.execute(stmt).first() is not None

    def transition(self, submission_id: uuid.UUID, expected: str, status: str, now: datetime,
                   *, error: str | None = None,
                   transaction_id: uuid.UUID | None = None) -> bool:
        """expected → status; False (and nothing changed) when it is not in ``expected``."""
        stmt = (update(_S).where(_S.id == submission_id, _S.status == expected)
                .values(status=status, error=None if error is None else error[:200],
                        transaction_id=transaction_id, updated_at=now)
                .returning(_S.id))
        return self._s.execute(stmt).first() is not None

    def set_transaction(self, submission_id: uuid.UUID, transaction_id: uuid.UUID) -> None:
        self._s.execute(update(_S).where(_S.id == submission_id)
                        .values(transaction_id=transaction_id))

    def due(self, submitted_before: datetime, intent_before: datetime,
            limit: int = 100) -> Sequence[SwapSubmission]:
        """Submitted swaps untouched since ``submitted_before`` and intents older than
        ``intent_before``: what the reconciler looks at."""
        stmt = (select(*_COLUMNS).where(or_(
            and_(_S.status == SUBMITTED, _S.updated_at < submitted_before),
            and_(_S.status == INTENT, _S.created_at < intent_before)))
            .order_by(_S.created_at).limit(limit))
        return [_submission(row) for row in self._s.execute(stmt)]

    def for_agent(self, agent_id: uuid.UUID) -> Sequence[SwapSubmission]:
        stmt = select(*_COLUMNS).where(_S.agent_id == agent_id).order_by(_S.created_at)
        return [_submission(row) for row in self._s.execute(stmt)]


class LiveWalletRepository:
    """Which agent uses which live wallet (``agent_wallets`` rows of type ``live``)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def owners(self) -> dict[str, tuple[uuid.UUID, str]]:
        """address → (agent id, agent name) for every live wallet row."""
        stmt = (select(m.AgentWallet.wallet_address, m.Agent.id, m.Agent.name)
                .join(m.Agent, m.Agent.id == m.AgentWallet.agent_id)
                .where(m.AgentWallet.wallet_type == "live"))
        return {row.wallet_address: (row.id, row.name) for row in self._s.execute(stmt)}

    def owner_of(self, address: str) -> uuid.UUID | None:
        """The agent using ``address`` as any wallet, or None."""
        stmt = select(m.AgentWallet.agent_id).where(m.AgentWallet.wallet_address == address)
        found: uuid.UUID | None = self._s.execute(stmt).scalar_one_or_none()
        return found
