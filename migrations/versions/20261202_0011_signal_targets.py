"""signal targets: the agents a dispatched signal was fanned out to

An agent waits only for the earlier signals on a token it is a target of (docs/rules.md §3
"Order per agent and token"); a signal's rows are deleted once it is processed. Signals
dispatched before this revision have none: they hold no agent back.

Revision ID: 0011_signal_targets
Revises: 0010_quiet_bands
Create Date: 2026-12-02 21:20:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0011_signal_targets'
down_revision: Union[str, Sequence[str], None] = '0010_quiet_bands'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('signal_targets',
    sa.Column('signal_id', sa.BigInteger(), nullable=False),
    sa.Column('agent_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_signal_targets_agent_id_agents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['signal_id'], ['trading_signals.id'], name=op.f('fk_signal_targets_signal_id_trading_signals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('signal_id', 'agent_id', name=op.f('pk_signal_targets'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('signal_targets')
