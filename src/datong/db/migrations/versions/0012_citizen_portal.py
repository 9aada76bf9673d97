"""citizen portal: one-time sign-in codes, flagged uses of personal data, proactive notices

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 11:16:24.364697
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datong.db.base


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('portal_codes',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('holder_key', sa.String(length=32), nullable=False),
    sa.Column('acting_for', sa.String(length=32), nullable=True),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('salt', sa.String(length=32), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('phone_hint', sa.String(length=20), nullable=False),
    sa.Column('created_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', datong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_codes'))
    )
    with op.batch_alter_table('portal_codes', schema=None) as batch_op:
        batch_op.create_index('ix_portal_codes_holder', ['holder_key', 'created_at'], unique=False)

    op.create_table('portal_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('holder_key', sa.String(length=32), nullable=False),
    sa.Column('audit_seq', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finding', sa.Text(), nullable=True),
    sa.Column('closed_by', sa.String(length=100), nullable=True),
    sa.Column('closed_at', datong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_flags')),
    sa.UniqueConstraint('holder_key', 'audit_seq', name=op.f('uq_portal_flags_holder_key_audit_seq'))
    )
    with op.batch_alter_table('portal_flags', schema=None) as batch_op:
        batch_op.create_index('ix_portal_flags_status', ['status', 'id'], unique=False)

    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('why', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('occasion', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('link', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('texted_at', datong.db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint('uq_notices_holder_occasion', ['holder_key', 'occasion'])



def downgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_constraint('uq_notices_holder_occasion', type_='unique')
        batch_op.drop_column('texted_at')
        batch_op.drop_column('link')
        batch_op.drop_column('occasion')
        batch_op.drop_column('why')

    with op.batch_alter_table('portal_flags', schema=None) as batch_op:
        batch_op.drop_index('ix_portal_flags_status')

    op.drop_table('portal_flags')
    with op.batch_alter_table('portal_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_portal_codes_holder')

    op.drop_table('portal_codes')
