"""wallet sync: ADJUSTMENT ledger rows, agent_transactions.adjustment, agent_positions.tokens_left (docs/rules.md §12)

The wallet sync records what the chain holds that the ledger does not as explicit rows:
``adjustment`` names the kind (deposit, withdrawal, unexplained) of the rows it writes, token
differences are the new transaction type ``ADJUSTMENT``, and a position whose tokens left
the wallet carries how many in ``tokens_left``. Reviewed by hand: autogenerate does not see
the CHECK constraint of a VARCHAR enum, so the transaction-type constraint is replaced here
(the downgrade deletes the ADJUSTMENT rows first: an older schema cannot hold them).

Revision ID: 0008_wallet_sync
Revises: 0007_unique_agent_names
Create Date: 2026-12-02 21:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0008_wallet_sync'
down_revision: Union[str, Sequence[str], None] = '0007_unique_agent_names'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_TYPES = "'DEPOSIT', 'WITHDRAWAL', 'SWAP', 'BURN'"


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_constraint(op.f('ck_agent_transactions_transaction_type'), 'agent_transactions',
                       type_='check')
    op.create_check_constraint(op.f('ck_agent_transactions_transaction_type'),
                               'agent_transactions',
                               f"transaction_type IN ({_TYPES}, 'ADJUSTMENT')")
    op.add_column('agent_transactions', sa.Column('adjustment', sa.Enum(
        'deposit', 'withdrawal', 'unexplained', name='adjustment_kind', native_enum=False,
        create_constraint=True, length=16), nullable=True))
    op.add_column('agent_positions', sa.Column('tokens_left', sa.Numeric(precision=30, scale=18),
                                               nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column('agent_positions', 'tokens_left')
    op.drop_column('agent_transactions', 'adjustment')
    op.execute(sa.text("DELETE FROM agent_transactions WHERE transaction_type = 'ADJUSTMENT'"))
    op.drop_constraint(op.f('ck_agent_transactions_transaction_type'), 'agent_transactions',
                       type_='check')
    op.create_check_constraint(op.f('ck_agent_transactions_transaction_type'),
                               'agent_transactions', f"transaction_type IN ({_TYPES})")
