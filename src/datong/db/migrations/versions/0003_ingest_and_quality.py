"""ingest and quality

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datong.db.base


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('loads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('actor_department', sa.String(length=18), nullable=True),
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('source_kind', sa.String(length=16), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('encoding', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('read', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('warned', sa.Integer(), nullable=False),
    sa.Column('inserted', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.String(length=500), nullable=True),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('started_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', datong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_loads_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loads'))
    )
    with op.batch_alter_table('loads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loads_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loads_status'), ['status'], unique=False)

    op.create_table('quality_issues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=160), nullable=False),
    sa.Column('item', sa.String(length=100), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('failing', sa.Integer(), nullable=False),
    sa.Column('samples', sa.JSON(), nullable=False),
    sa.Column('opened_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('closed_at', datong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_load_id', sa.Integer(), nullable=True),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.Column('updated_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_quality_issues_department_id_departments')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_quality_issues_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_issues')),
    sa.UniqueConstraint('resource_id', 'rule', name=op.f('uq_quality_issues_resource_id_rule'))
    )
    with op.batch_alter_table('quality_issues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_issues_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_issues_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_issues_state'), ['state'], unique=False)

    op.create_table('quality_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('element_id', sa.Integer(), nullable=True),
    sa.Column('resource_id', sa.Integer(), nullable=True),
    sa.Column('item', sa.String(length=100), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['element_id'], ['data_elements.id'], name=op.f('fk_quality_rules_element_id_data_elements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_quality_rules_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_rules'))
    )
    with op.batch_alter_table('quality_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_rules_element_id'), ['element_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_rules_resource_id'), ['resource_id'], unique=False)

    op.create_table('quality_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=True),
    sa.Column('computed_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('completeness', sa.Float(), nullable=False),
    sa.Column('validity', sa.Float(), nullable=False),
    sa.Column('uniqueness', sa.Float(), nullable=False),
    sa.Column('consistency', sa.Float(), nullable=False),
    sa.Column('timeliness', sa.Float(), nullable=False),
    sa.Column('overall', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_quality_scores_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_scores'))
    )
    with op.batch_alter_table('quality_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_scores_resource_id'), ['resource_id'], unique=False)

    op.create_table('record_keys',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=32), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('record_key', sa.String(length=200), nullable=False),
    sa.Column('item', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_record_keys_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('kind', 'value', 'resource_id', 'record_key', 'item', name=op.f('pk_record_keys'))
    )
    with op.batch_alter_table('record_keys', schema=None) as batch_op:
        batch_op.create_index('ix_record_keys_record', ['resource_id', 'record_key'], unique=False)

    op.create_table('records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('row_hash', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('created_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_records_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_records')),
    sa.UniqueConstraint('resource_id', 'key', name=op.f('uq_records_resource_id_key'))
    )
    op.create_table('load_problems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('column', sa.String(length=100), nullable=True),
    sa.Column('value', sa.String(length=200), nullable=True),
    sa.Column('rule', sa.String(length=160), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], name=op.f('fk_load_problems_load_id_loads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_load_problems'))
    )
    with op.batch_alter_table('load_problems', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_load_problems_load_id'), ['load_id'], unique=False)

    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('column_mapping', sa.JSON(), nullable=False, server_default='{}'))



def downgrade() -> None:
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_column('column_mapping')

    with op.batch_alter_table('load_problems', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_load_problems_load_id'))

    op.drop_table('load_problems')
    op.drop_table('records')
    with op.batch_alter_table('record_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_record_keys_record')

    op.drop_table('record_keys')
    with op.batch_alter_table('quality_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_scores_resource_id'))

    op.drop_table('quality_scores')
    with op.batch_alter_table('quality_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_rules_resource_id'))
        batch_op.drop_index(batch_op.f('ix_quality_rules_element_id'))

    op.drop_table('quality_rules')
    with op.batch_alter_table('quality_issues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_issues_state'))
        batch_op.drop_index(batch_op.f('ix_quality_issues_resource_id'))
        batch_op.drop_index(batch_op.f('ix_quality_issues_department_id'))

    op.drop_table('quality_issues')
    with op.batch_alter_table('loads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loads_status'))
        batch_op.drop_index(batch_op.f('ix_loads_resource_id'))

    op.drop_table('loads')
