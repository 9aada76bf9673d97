"""Migrations at head match the models, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text

from datong.db.base import Base, import_all_models
from datong.db.migrate import current_revision, head_revision, upgrade_to_head
from datong.security.models import AuditHead


CHAIN_TABLES = {"audit_events", "audit_subjects", "audit_head"}


def test_head_matches_models(database):
    import_all_models()
    sqlite = database.dialect == "sqlite"
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True,
            # On SQLite the chain lives in the attached ``audit`` file; compared on its own below.
            "include_object": lambda obj, name, kind, reflected, other: not (sqlite and (
                name in CHAIN_TABLES if kind == "table" else getattr(obj, "table", None) is not None
                and obj.table.name in CHAIN_TABLES))})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_sqlite_chain_lives_in_its_own_file(database):
    """The chain's tables are in the attached audit database, with the models' columns and indexes."""
    if database.dialect != "sqlite":
        return
    from sqlalchemy import inspect

    import_all_models()
    with database.engine.connect() as connection:
        inspector = inspect(connection)
        assert not CHAIN_TABLES & set(inspector.get_table_names())
        assert CHAIN_TABLES <= set(inspector.get_table_names(schema="audit"))
        for name in CHAIN_TABLES:
            columns = {c["name"] for c in inspector.get_columns(name, schema="audit")}
            assert columns == {c.name for c in Base.metadata.tables[name].columns}
        indexed = {i["name"] for i in inspector.get_indexes("audit_events", schema="audit")}
        assert {"ix_audit_events_action", "ix_audit_events_actor", "ix_audit_events_occurred_at"} <= indexed


def test_upgrade_is_idempotent_and_at_head(database):
    assert current_revision(database.engine) == head_revision(database.engine)
    before, after = upgrade_to_head(database.engine)
    assert before == after == head_revision(database.engine)


def test_chain_head_is_seeded_and_consistent(database):
    """The migration seeds the head at the genesis hash; initialising appends one event."""
    from datong.security.audit import GENESIS, verify_chain

    with database.unit_of_work() as session:
        head = session.scalar(select(AuditHead))
        report = verify_chain(session)
        first_link = session.execute(text("SELECT prev_hash FROM audit_events WHERE seq = 1")).scalar()
    assert report.intact and head.last_seq == report.events
    assert first_link == GENESIS


def test_unit_of_work_rolls_back_on_error(database, operator):
    from datong.security import service
    from tests.helpers import DEPT_CODE

    try:
        with database.unit_of_work() as session:
            service.create_department(session, operator, code=DEPT_CODE, name="临时部门")
            raise RuntimeError("stop")
    except RuntimeError:
        pass
    with database.unit_of_work() as session:
        assert service.list_departments(session, operator) == []
