"""catalog

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datong.db.base


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('code_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identifier', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_code_lists')),
    sa.UniqueConstraint('identifier', name=op.f('uq_code_lists_identifier'))
    )
    op.create_table('code_list_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_list_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('label_en', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['code_list_id'], ['code_lists.id'], name=op.f('fk_code_list_entries_code_list_id_code_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_code_list_entries')),
    sa.UniqueConstraint('code_list_id', 'value', name=op.f('uq_code_list_entries_code_list_id_value'))
    )
    with op.batch_alter_table('code_list_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_code_list_entries_code_list_id'), ['code_list_id'], unique=False)

    op.create_table('data_elements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identifier', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('data_type', sa.String(length=16), nullable=False),
    sa.Column('length', sa.Integer(), nullable=True),
    sa.Column('format', sa.String(length=200), nullable=True),
    sa.Column('code_list_id', sa.Integer(), nullable=True),
    sa.Column('rule', sa.String(length=32), nullable=True),
    sa.Column('sensitivity', sa.String(length=24), nullable=False),
    sa.Column('key_kind', sa.String(length=16), nullable=True),
    sa.Column('base_registry', sa.String(length=16), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['code_list_id'], ['code_lists.id'], name=op.f('fk_data_elements_code_list_id_code_lists')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_elements')),
    sa.UniqueConstraint('identifier', name=op.f('uq_data_elements_identifier')),
    sa.UniqueConstraint('name', name=op.f('uq_data_elements_name'))
    )
    op.create_table('resources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=1), nullable=False),
    sa.Column('theme', sa.String(length=100), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('format', sa.String(length=50), nullable=False),
    sa.Column('sharing_type', sa.String(length=16), nullable=False),
    sa.Column('sharing_condition', sa.Text(), nullable=False),
    sa.Column('sharing_methods', sa.JSON(), nullable=False),
    sa.Column('open_type', sa.String(length=16), nullable=False),
    sa.Column('open_condition', sa.Text(), nullable=False),
    sa.Column('update_cycle', sa.String(length=16), nullable=False),
    sa.Column('published_on', sa.Date(), nullable=True),
    sa.Column('attached', sa.Boolean(), nullable=False),
    sa.Column('attached_at', datong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('created_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['departments.id'], name=op.f('fk_resources_provider_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resources')),
    sa.UniqueConstraint('code', name=op.f('uq_resources_code'))
    )
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resources_attached'), ['attached'], unique=False)
        batch_op.create_index(batch_op.f('ix_resources_open_type'), ['open_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_resources_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_resources_sharing_type'), ['sharing_type'], unique=False)

    op.create_table('data_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('element_id', sa.Integer(), nullable=True),
    sa.Column('data_type', sa.String(length=16), nullable=False),
    sa.Column('length', sa.Integer(), nullable=True),
    sa.Column('sensitivity', sa.String(length=24), nullable=False),
    sa.Column('key_kind', sa.String(length=16), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['element_id'], ['data_elements.id'], name=op.f('fk_data_items_element_id_data_elements')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_data_items_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_items')),
    sa.UniqueConstraint('resource_id', 'name', name=op.f('uq_data_items_resource_id_name'))
    )
    with op.batch_alter_table('data_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_items_element_id'), ['element_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_items_resource_id'), ['resource_id'], unique=False)

    op.create_table('resource_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changed_by', sa.String(length=100), nullable=False),
    sa.Column('changed_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_resource_versions_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resource_versions')),
    sa.UniqueConstraint('resource_id', 'version', name=op.f('uq_resource_versions_resource_id_version'))
    )
    with op.batch_alter_table('resource_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resource_versions_resource_id'), ['resource_id'], unique=False)

    op.create_table('source_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('element_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=False),
    sa.Column('claimed_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', datong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_source_claims_department_id_departments')),
    sa.ForeignKeyConstraint(['element_id'], ['data_elements.id'], name=op.f('fk_source_claims_element_id_data_elements')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_source_claims_resource_id_resources'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source_claims')),
    sa.UniqueConstraint('element_id', 'department_id', name=op.f('uq_source_claims_element_id_department_id'))
    )
    with op.batch_alter_table('source_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_source_claims_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_source_claims_element_id'), ['element_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_source_claims_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('source_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_source_claims_status'))
        batch_op.drop_index(batch_op.f('ix_source_claims_element_id'))
        batch_op.drop_index(batch_op.f('ix_source_claims_department_id'))

    op.drop_table('source_claims')
    with op.batch_alter_table('resource_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resource_versions_resource_id'))

    op.drop_table('resource_versions')
    with op.batch_alter_table('data_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_items_resource_id'))
        batch_op.drop_index(batch_op.f('ix_data_items_element_id'))

    op.drop_table('data_items')
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resources_sharing_type'))
        batch_op.drop_index(batch_op.f('ix_resources_provider_id'))
        batch_op.drop_index(batch_op.f('ix_resources_open_type'))
        batch_op.drop_index(batch_op.f('ix_resources_attached'))

    op.drop_table('resources')
    op.drop_table('data_elements')
    with op.batch_alter_table('code_list_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_code_list_entries_code_list_id'))

    op.drop_table('code_list_entries')
    op.drop_table('code_lists')
