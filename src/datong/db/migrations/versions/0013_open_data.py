"""open data: published datasets, their daily use, API keys

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 20:56:23.122271
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datong.db.base


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('open_api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('applicant', sa.String(length=100), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('datasets', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('per_minute', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=True),
    sa.Column('key_hint', sa.String(length=16), nullable=True),
    sa.Column('created_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', datong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_open_api_keys_key_hash'))
    )
    with op.batch_alter_table('open_api_keys', schema=None) as batch_op:
        batch_op.create_index('ix_open_api_keys_status', ['status', 'id'], unique=False)

    op.create_table('open_datasets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=80), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('access', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('licence', sa.String(length=32), nullable=False),
    sa.Column('contact_email', sa.String(length=200), nullable=False),
    sa.Column('spatial', sa.String(length=12), nullable=False),
    sa.Column('temporal_start', sa.Date(), nullable=True),
    sa.Column('temporal_end', sa.Date(), nullable=True),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('published_by', sa.String(length=100), nullable=False),
    sa.Column('published_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', datong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('load_id', sa.Integer(), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('sizes', sa.JSON(), nullable=False),
    sa.Column('built_at', datong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('links', sa.JSON(), nullable=False),
    sa.Column('checked_at', datong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_open_datasets_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_datasets')),
    sa.UniqueConstraint('code', name=op.f('uq_open_datasets_code'))
    )
    with op.batch_alter_table('open_datasets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_datasets_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index('ix_open_datasets_status', ['status', 'id'], unique=False)

    op.create_table('open_usage',
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['open_datasets.id'], name=op.f('fk_open_usage_dataset_id_open_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_id', 'day', 'kind', name=op.f('pk_open_usage'))
    )


def downgrade() -> None:
    op.drop_table('open_usage')
    with op.batch_alter_table('open_datasets', schema=None) as batch_op:
        batch_op.drop_index('ix_open_datasets_status')
        batch_op.drop_index(batch_op.f('ix_open_datasets_resource_id'))

    op.drop_table('open_datasets')
    with op.batch_alter_table('open_api_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_open_api_keys_status')

    op.drop_table('open_api_keys')
