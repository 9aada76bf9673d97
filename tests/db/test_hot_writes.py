"""The hot writes' helpers: add_as_loaded (new rows in one Core statement, then in the session as
if loaded), write_now (some columns of loaded rows written at once), append_rows and a driver-level
write."""

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text
from sqlalchemy.orm import registry

from datong.db.writes import add_as_loaded, write_now
from datong.security.models import Department


def test_rows_are_written_in_order_and_kept_as_loaded(database):
    with database.unit_of_work() as session:
        made = [Department(code=f"1133000000TEST000{n}", name=f"测试部门{n}") for n in range(3)]
        add_as_loaded(session, made)
        ids = [d.id for d in made]
        assert None not in ids and ids == sorted(ids)
        assert not session.new and not session.dirty  # nothing left for a flush
        assert made[0].is_active is True and made[0].created_at is not None and made[0].short_name is None  # defaults
        assert session.get(Department, ids[1]) is made[1]  # in the identity map
        made[2].parent = made[0]  # changed later in the transaction: flushed as for any loaded object
    with database.reading() as session:
        found = session.scalars(select(Department).where(Department.name.like("测试部门%")).order_by(Department.id)).all()
        assert [d.name for d in found] == ["测试部门0", "测试部门1", "测试部门2"]  # each id is its own row's
        assert [d.id for d in found] == ids and found[2].parent_id == ids[0] and found[1].is_active


def test_a_server_default_alone_is_refused(database):
    table = Table("loaded_probe", MetaData(), Column("id", Integer, primary_key=True),
                  Column("label", String(20), server_default=text("'x'")))

    class Probe:
        pass

    registry().map_imperatively(Probe, table)
    with database.unit_of_work() as session, pytest.raises(ValueError, match="server default"):
        add_as_loaded(session, [Probe()])


def test_write_now_leaves_only_the_other_changes_to_a_flush(database):
    with database.unit_of_work() as session:
        add_as_loaded(session, [Department(code=f"1133000000WRIT000{n}", name=f"写入部门{n}") for n in range(2)])
    with database.unit_of_work() as session:
        found = session.scalars(select(Department).where(Department.name.like("写入部门%")).order_by(Department.id)).all()
        for d in found:
            d.short_name = f"简{d.id}"
        found[0].is_active = False  # not among the keys written: left to the flush
        write_now(session, found, ("short_name",))
        assert not session.is_modified(found[1]) and session.is_modified(found[0])
        assert found[1] not in session.dirty and found[0] in session.dirty  # the flush looks at one
        assert found[1].short_name == f"简{found[1].id}"
    with database.reading() as session:
        again = session.scalars(select(Department).where(Department.name.like("写入部门%")).order_by(Department.id)).all()
        assert [d.short_name for d in again] == [f"简{d.id}" for d in again]
        assert [d.is_active for d in again] == [False, True]


def test_a_published_event_keeps_json_and_times_as_the_orm_reads_them(database):
    """events.publish writes its row at the driver level (append_rows)."""
    from datong.db.base import utcnow
    from datong.events import Event, publish

    before = utcnow()
    with database.unit_of_work() as session:
        publish(session, "probe.kind", {"名": "值", "n": [1, None]})
    after = utcnow()
    with database.reading() as session:
        event = session.scalar(select(Event).where(Event.kind == "probe.kind"))
        assert event.payload == {"名": "值", "n": [1, None]} and before <= event.created_at <= after


def test_json_and_times_go_through_the_column_types(database):
    from datong.events import Event

    with database.unit_of_work() as session:
        made = Event(kind="probe.loaded", payload={"名": ["值", 1, None]})
        add_as_loaded(session, [made])
        write_now(session, [made], ("payload",), [({"名": "改"},)])  # the new values given: nothing marked changed
        assert made.payload == {"名": "改"} and not session.dirty
    with database.reading() as session:
        event = session.scalar(select(Event).where(Event.kind == "probe.loaded"))
        assert event.payload == {"名": "改"} and event.created_at == made.created_at and event.id == made.id


def test_appended_rows_read_back_as_the_orm_wrote_them(database):
    """append_rows (the audit outbox's insert): JSON, times and text as a Core insert stores them."""
    from datong.db.base import utcnow
    from datong.db.writes import append_rows
    from datong.events import Event

    at = utcnow()
    rows = [{"kind": f"probe.append{n}", "payload": {"名": [n, None, "值\"\\"]}, "created_at": at} for n in range(3)]
    with database.unit_of_work() as session:
        append_rows(session, Event, rows)
        append_rows(session, Event, [])  # nothing to write
    with database.reading() as session:
        found = session.scalars(select(Event).where(Event.kind.like("probe.append%")).order_by(Event.id)).all()
        assert [(e.kind, e.payload, e.created_at) for e in found] == [(r["kind"], r["payload"], at) for r in rows]
