"""idempotency namespaces (written by hand, checked by ``alembic check``)

Idempotency keys were unique across every channel, so an HTTP caller could claim
``stream:<a future message id>`` and the real stream message was then dropped as its
duplicate; a 409 also answered another provider's signal id. A key is now unique within its
namespace: ``http:<user id>`` (the API key's user), ``stream`` or ``task``.

Data: the keys the ingestors made up for keyless messages move to their channel
(``stream:<message id>`` → ``stream``, ``task:<task id>…`` → ``task``); every other row's
channel was never recorded, so it moves to ``legacy``, a namespace no channel writes: no new
signal can ever be taken for one of them. Downgrade keeps the oldest row of a key as it is
and prefixes the others (``dup:<id>:``) so the single-column constraint can come back.

Revision ID: 0004
Revises: 0003_agents_archived
Create Date: 2026-11-23 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003_agents_archived'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('trading_signals',
                  sa.Column('idempotency_namespace', sa.String(length=64), nullable=True))
    op.execute("""
        UPDATE trading_signals SET idempotency_namespace = CASE
            WHEN idempotency_key LIKE 'stream:%' THEN 'stream'
            WHEN idempotency_key LIKE 'task:%' THEN 'task'
            ELSE 'legacy' END
    """)
    op.alter_column('trading_signals', 'idempotency_namespace', nullable=False)
    op.drop_constraint(op.f('uq_trading_signals_idempotency_key'), 'trading_signals',
                       type_='unique')
    op.create_unique_constraint(
        op.f('uq_trading_signals_idempotency_namespace_idempotency_key'), 'trading_signals',
        ['idempotency_namespace', 'idempotency_key'])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_constraint(op.f('uq_trading_signals_idempotency_namespace_idempotency_key'),
                       'trading_signals', type_='unique')
    op.execute("""
        UPDATE trading_signals AS t
        SET idempotency_key = left('dup:' || t.id || ':' || t.idempotency_key, 128)
        WHERE t.idempotency_key IS NOT NULL AND t.id <> (
            SELECT min(o.id) FROM trading_signals AS o
            WHERE o.idempotency_key = t.idempotency_key)
    """)
    op.create_unique_constraint(op.f('uq_trading_signals_idempotency_key'), 'trading_signals',
                                ['idempotency_key'])
    op.drop_column('trading_signals', 'idempotency_namespace')
