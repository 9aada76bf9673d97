"""sharing

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datong.db.base


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('share_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('consumer_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('requested_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decide_by', sa.Date(), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', datong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['api_clients.id'], name=op.f('fk_share_requests_client_id_api_clients')),
    sa.ForeignKeyConstraint(['consumer_id'], ['departments.id'], name=op.f('fk_share_requests_consumer_id_departments')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_share_requests_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_requests'))
    )
    with op.batch_alter_table('share_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_requests_consumer_id'), ['consumer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_share_requests_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_share_requests_status'), ['status'], unique=False)

    op.create_table('grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('consumer_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('plain_items', sa.JSON(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('valid_from', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_until', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('approved_by', sa.String(length=200), nullable=False),
    sa.Column('revoked_at', datong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['api_clients.id'], name=op.f('fk_grants_client_id_api_clients')),
    sa.ForeignKeyConstraint(['consumer_id'], ['departments.id'], name=op.f('fk_grants_consumer_id_departments')),
    sa.ForeignKeyConstraint(['request_id'], ['share_requests.id'], name=op.f('fk_grants_request_id_share_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_grants_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grants'))
    )
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grants_consumer_id'), ['consumer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grants_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grants_resource_id'), ['resource_id'], unique=False)

    op.create_table('subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('consumer_id', sa.Integer(), nullable=False),
    sa.Column('callback_url', sa.String(length=500), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('keys', sa.JSON(), nullable=True),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consumer_id'], ['departments.id'], name=op.f('fk_subscriptions_consumer_id_departments')),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_subscriptions_grant_id_grants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_subscriptions_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriptions_consumer_id'), ['consumer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_grant_id'), ['grant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_resource_id'), ['resource_id'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=True),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('record_key', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('subjects', sa.JSON(), nullable=False),
    sa.Column('created_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', datong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dead', sa.Boolean(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_deliveries_subscription_id_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deliveries_dead'), ['dead'], unique=False)
        batch_op.create_index(batch_op.f('ix_deliveries_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_deliveries_subscription_id'), ['subscription_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_subscription_id'))
        batch_op.drop_index(batch_op.f('ix_deliveries_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_deliveries_dead'))

    op.drop_table('deliveries')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_resource_id'))
        batch_op.drop_index(batch_op.f('ix_subscriptions_grant_id'))
        batch_op.drop_index(batch_op.f('ix_subscriptions_consumer_id'))

    op.drop_table('subscriptions')
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grants_resource_id'))
        batch_op.drop_index(batch_op.f('ix_grants_request_id'))
        batch_op.drop_index(batch_op.f('ix_grants_consumer_id'))

    op.drop_table('grants')
    with op.batch_alter_table('share_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_share_requests_status'))
        batch_op.drop_index(batch_op.f('ix_share_requests_resource_id'))
        batch_op.drop_index(batch_op.f('ix_share_requests_consumer_id'))

    op.drop_table('share_requests')
