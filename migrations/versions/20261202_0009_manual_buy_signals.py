"""manual buys: a signal for one agent with an explicit size

``fleet trades buy`` stores the operator's buy as a signal for one agent
(``trading_signals.agent_id``) with the SOL it spends (``amount_sol``, NULL: the agent's rules
size it), so it takes a signal's path: UNIQUE(signal_id, agent_id), the ledger write path,
the live intent path. Both columns are NULL for every existing signal.

Revision ID: 0009_manual_buy_signals
Revises: 0008_wallet_sync
Create Date: 2026-12-02 21:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0009_manual_buy_signals'
down_revision: Union[str, Sequence[str], None] = '0008_wallet_sync'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('trading_signals', sa.Column('agent_id', sa.UUID(), nullable=True))
    op.add_column('trading_signals',
                  sa.Column('amount_sol', sa.Numeric(precision=20, scale=8), nullable=True))
    op.create_foreign_key(op.f('fk_trading_signals_agent_id_agents'), 'trading_signals',
                          'agents', ['agent_id'], ['id'], ondelete='CASCADE')
    op.create_check_constraint(op.f('ck_trading_signals_amount_sol_positive'),
                               'trading_signals', 'amount_sol > 0')


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_constraint(op.f('ck_trading_signals_amount_sol_positive'), 'trading_signals',
                       type_='check')
    op.drop_constraint(op.f('fk_trading_signals_agent_id_agents'), 'trading_signals',
                       type_='foreignkey')
    op.drop_column('trading_signals', 'amount_sol')
    op.drop_column('trading_signals', 'agent_id')
