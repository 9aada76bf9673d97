"""definition versions: service items, bundles and licence types count their changes, so that
every process can keep them and check in one small statement that what it keeps is current

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("service_items", "service_bundles", "licence_types"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    for table in ("service_items", "service_bundles", "licence_types"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
