"""registries: subjects, the records linked to them, each subject's attributes with provenance,
history, the review queue, precedence lists, builds and the queue of loads to take in

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datong.db.base


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('registry_builds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('finished_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_builds'))
    )
    with op.batch_alter_table('registry_builds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_builds_kind'), ['kind'], unique=False)

    op.create_table('registry_pending',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.String(length=500), nullable=False),
    sa.Column('previous', sa.String(length=500), nullable=True),
    sa.Column('claimed_by', sa.String(length=200), nullable=True),
    sa.Column('claimed_until', datong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_pending'))
    )
    op.create_table('registry_precedence',
    sa.Column('element', sa.String(length=32), nullable=False),
    sa.Column('departments', sa.JSON(), nullable=False),
    sa.Column('set_by', sa.String(length=200), nullable=False),
    sa.Column('set_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('element', name=op.f('pk_registry_precedence'))
    )
    op.create_table('registry_subjects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('created_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_subjects')),
    sa.UniqueConstraint('kind', 'key', name=op.f('uq_registry_subjects_kind_key'))
    )
    op.create_table('registry_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('element', sa.String(length=32), nullable=False),
    sa.Column('old', sa.Text(), nullable=True),
    sa.Column('new', sa.Text(), nullable=True),
    sa.Column('resource_id', sa.Integer(), nullable=True),
    sa.Column('load_id', sa.Integer(), nullable=True),
    sa.Column('at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['registry_subjects.id'], name=op.f('fk_registry_changes_subject_id_registry_subjects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_changes'))
    )
    with op.batch_alter_table('registry_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_changes_subject_id'), ['subject_id'], unique=False)

    op.create_table('registry_names',
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('element', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['registry_subjects.id'], name=op.f('fk_registry_names_subject_id_registry_subjects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subject_id', 'element', name=op.f('pk_registry_names'))
    )
    with op.batch_alter_table('registry_names', schema=None) as batch_op:
        batch_op.create_index('ix_registry_names_value', ['element', 'value'], unique=False)

    op.create_table('registry_profiles',
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('attributes', sa.Text(), nullable=False),
    sa.Column('disagreements', sa.Integer(), nullable=False),
    sa.Column('updated_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['registry_subjects.id'], name=op.f('fk_registry_profiles_subject_id_registry_subjects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subject_id', name=op.f('pk_registry_profiles'))
    )
    op.create_table('registry_links',
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('record_key', sa.String(length=200), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('probability', sa.Float(), nullable=True),
    sa.Column('suspect', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_registry_links_resource_id_resources'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subject_id'], ['registry_subjects.id'], name=op.f('fk_registry_links_subject_id_registry_subjects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resource_id', 'record_key', 'subject_id', name=op.f('pk_registry_links'))
    )
    with op.batch_alter_table('registry_links', schema=None) as batch_op:
        batch_op.create_index('ix_registry_links_subject', ['subject_id'], unique=False)

    op.create_table('registry_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('record_key', sa.String(length=200), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('probability', sa.Float(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', datong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_registry_reviews_resource_id_resources'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subject_id'], ['registry_subjects.id'], name=op.f('fk_registry_reviews_subject_id_registry_subjects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_reviews')),
    sa.UniqueConstraint('resource_id', 'record_key', 'subject_id', name=op.f('uq_registry_reviews_resource_id_record_key_subject_id'))
    )
    with op.batch_alter_table('registry_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_reviews_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_reviews_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('registry_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_reviews_status'))
        batch_op.drop_index(batch_op.f('ix_registry_reviews_kind'))

    op.drop_table('registry_reviews')
    with op.batch_alter_table('registry_links', schema=None) as batch_op:
        batch_op.drop_index('ix_registry_links_subject')

    op.drop_table('registry_links')
    op.drop_table('registry_profiles')
    with op.batch_alter_table('registry_names', schema=None) as batch_op:
        batch_op.drop_index('ix_registry_names_value')

    op.drop_table('registry_names')
    with op.batch_alter_table('registry_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_changes_subject_id'))

    op.drop_table('registry_changes')
    op.drop_table('registry_subjects')
    op.drop_table('registry_precedence')
    op.drop_table('registry_pending')
    with op.batch_alter_table('registry_builds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_builds_kind'))

    op.drop_table('registry_builds')
