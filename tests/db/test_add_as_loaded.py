"""add_as_loaded: new rows in one Core statement, then in the session as if loaded."""

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text
from sqlalchemy.orm import registry

from datong.db.base import add_as_loaded
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
