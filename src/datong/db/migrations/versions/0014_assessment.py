"""assessment: the weights and targets the bureau sets per indicator

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 21:25:39.287158
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datong.db.base


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('assessment_indicators',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('target', sa.Float(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_assessment_indicators'))
    )


def downgrade() -> None:
    op.drop_table('assessment_indicators')
