"""delivery workers' heartbeats; rows with problems kept as they were read; departments
deactivated and resources withdrawn

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datong.db.base

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'worker_heartbeats',
        sa.Column('holder', sa.String(length=100), nullable=False),
        sa.Column('seen_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('holder', name=op.f('pk_worker_heartbeats')),
    )
    with op.batch_alter_table('worker_heartbeats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_worker_heartbeats_seen_at'), ['seen_at'], unique=False)
    op.create_table(
        'load_rows',
        sa.Column('load_id', sa.Integer(), nullable=False),
        sa.Column('row', sa.Integer(), nullable=False),
        sa.Column('original', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['load_id'], ['loads.id'], name=op.f('fk_load_rows_load_id_loads'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('load_id', 'row', name=op.f('pk_load_rows')),
    )


    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_active', sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', datong.db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_column('withdrawn_reason')
        batch_op.drop_column('withdrawn_at')
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.drop_column('is_active')
    op.drop_table('load_rows')
    with op.batch_alter_table('worker_heartbeats', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_worker_heartbeats_seen_at'))
    op.drop_table('worker_heartbeats')
