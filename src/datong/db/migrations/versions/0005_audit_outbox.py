"""audit outbox; on SQLite the chain moves to a file of its own

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

Changes write their audit events to ``audit_outbox`` in their own transaction; the audit writer
moves them into the chain. On SQLite the chain's tables move into the attached ``audit`` database
(``<name>-audit.db`` beside the main file), with every event they already hold.
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datong.db.base

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHAIN = ('audit_head', 'audit_events', 'audit_subjects')  # in the order they can be created
_NAME = re.compile(r'^(CREATE (?:UNIQUE )?(?:TABLE|INDEX) )("?)(\w+)("?)', re.I)


def _move_sqlite(source: str, target: str) -> None:
    """Recreate the chain's tables and indexes in ``target`` with their rows, then drop them from ``source``."""
    bind = op.get_bind()
    for table in CHAIN:
        objects = bind.exec_driver_sql(
            f"SELECT type, sql FROM {source}.sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
            "ORDER BY type = 'index'", (table,)).all()
        for _kind, ddl in objects:
            bind.exec_driver_sql(_NAME.sub(lambda m: f'{m.group(1)}"{target}"."{m.group(3)}"', ddl, count=1))
        bind.exec_driver_sql(f'INSERT INTO "{target}"."{table}" SELECT * FROM "{source}"."{table}"')
    for table in reversed(CHAIN):
        bind.exec_driver_sql(f'DROP TABLE "{source}"."{table}"')


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        _move_sqlite('main', 'audit')
        op.get_bind().exec_driver_sql(
            'ALTER TABLE "audit"."audit_head" ADD COLUMN outbox_mark INTEGER DEFAULT 0 NOT NULL')
    else:
        op.add_column('audit_head', sa.Column('outbox_mark', sa.Integer(), server_default='0', nullable=False))
    op.create_table('audit_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', datong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('actor_department', sa.String(length=18), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=255), nullable=True),
    sa.Column('subjects', sa.JSON(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=True),
    sa.Column('case_number', sa.String(length=100), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_outbox')),
    sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table('audit_outbox')
    if op.get_bind().dialect.name == 'sqlite':
        _move_sqlite('audit', 'main')
        with op.batch_alter_table('audit_head') as batch_op:
            batch_op.drop_column('outbox_mark')
    else:
        op.drop_column('audit_head', 'outbox_mark')
