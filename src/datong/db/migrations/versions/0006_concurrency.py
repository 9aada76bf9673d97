"""several processes: events outbox, load leases and progress, delivery claims

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datong.db.base

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_kind'), ['kind'], unique=False)
    op.create_table('event_consumers',
    sa.Column('consumer', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('consumed_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_consumers_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('consumer', 'event_id', name=op.f('pk_event_consumers'))
    )
    with op.batch_alter_table('loads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holder', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('lease_until', datong.db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('phase', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('progress_done', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('progress_total', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', datong.db.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('claimed_by')
    with op.batch_alter_table('loads', schema=None) as batch_op:
        for column in ('progress_total', 'progress_done', 'phase', 'lease_until', 'holder'):
            batch_op.drop_column(column)
    op.drop_table('event_consumers')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_kind'))
    op.drop_table('events')
