"""Issuing in bulk from a loaded resource: a committed load of marriage registrations issues a
结婚证 for each, through the load event; a changed record is reissued (换发), the old version kept;
a record that cannot make a licence is skipped and named; repeating issues nothing twice."""

from __future__ import annotations

import csv

from sqlalchemy import func, select

from datong import events
from datong.catalog import service as catalog
from datong.catalog.schemas import ResourceIn
from datong.ingest.flows import run_load
from datong.ingest.sources import Source
from datong.licenses import flows, service
from datong.licenses.models import IssuePending, Licence, LicenceEvent
from datong.store.snapshots import last_snapshot
from tests.helpers import OTHER_CODE, citizen_id
from tests.licenses.conftest import marriage_spec

HEADER = ["登记编号", "男方公民身份号码", "男方姓名", "女方姓名", "登记日期"]


def _rows(count: int, changed: int | None = None) -> list[list[str]]:
    return [[f"J{n:05d}", citizen_id(n, "19880808"), f"新郎{n}", "新娘" + ("改" if n == changed else str(n)), "2026-10-01"]
            for n in range(1, count + 1)]


def _write(path, rows):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def _marriages(database, operator) -> str:
    items = [{"name": "登记编号", "element": "DE0019", "key": "record"},
             {"name": "男方公民身份号码", "element": "DE0001", "key": "person"},
             {"name": "男方姓名", "element": "DE0002"}, {"name": "女方姓名", "element": None, "data_type": "string",
                                                     "note": "配偶"},
             {"name": "登记日期", "element": "DE0020"}]
    with database.unit_of_work() as session:
        return catalog.create_resource(session, operator, data=ResourceIn.model_validate({
            "name": "婚姻登记信息", "provider": OTHER_CODE, "summary": "婚姻登记", "theme": "民政",
            "sharing_type": "conditional", "sharing_condition": "核验", "sharing_methods": ["api"],
            "open_type": "none", "update_cycle": "daily", "items": items})).code


def _link(database, operator, code: str) -> None:
    spec = marriage_spec(source=code, mapping={"holder_key": "男方公民身份号码", "holder_name": "男方姓名", "fields": {
        "持证人": "男方姓名", "配偶姓名": "女方姓名", "登记日期": "登记日期", "结婚证字号": "登记编号"}})
    with database.unit_of_work() as session:
        service.save_licence_type(session, operator, spec=spec)


def _count(database, **where) -> int:
    with database.reading() as session:
        stmt = select(func.count()).select_from(Licence)
        for column, value in where.items():
            stmt = stmt.where(getattr(Licence, column) == value)
        return session.scalar(stmt)


def test_a_load_issues_licences_and_a_changed_record_is_reissued(database, operator, library, tmp_path):
    code = _marriages(database, operator)
    _link(database, operator, code)
    run_load(database, operator, resource_code=code, source=Source.from_path(_write(tmp_path / "m1.csv", _rows(30))))
    events.dispatch(database)  # the load already dispatched; a second round finds nothing new
    assert _count(database) == 30 and _count(database, status="valid") == 30
    with database.reading() as session:
        assert session.scalar(select(func.count()).select_from(IssuePending)) == 0
        lic = session.scalar(select(Licence).where(Licence.source_key.like("J00007|%")))
        assert lic.holder_key == citizen_id(7, "19880808") and '"配偶姓名":"新娘7"' in lic.document
    run_load(database, operator, resource_code=code, source=Source.from_path(_write(tmp_path / "m2.csv",
                                                                                    _rows(31, changed=7))))
    assert _count(database) == 32  # one new marriage, one reissue
    assert _count(database, status="superseded") == 1 and _count(database, status="valid") == 31
    with database.reading() as session:
        fresh = session.scalar(select(Licence).where(Licence.source_key.like("J00007|%"), Licence.status == "valid"))
        assert fresh.version == 2 and fresh.family == lic.family and '"配偶姓名":"新娘改"' in fresh.document
        assert session.scalar(select(func.count()).select_from(LicenceEvent)
                              .where(LicenceEvent.action == "superseded")) == 1
        snapshot = last_snapshot(session, fresh.type.source_resource_id)
    again = flows.issue_from_snapshot(database, operator, type_code="结婚证", snapshot=snapshot)
    assert (again.issued, again.reissued) == (0, 0)


def test_records_that_cannot_make_a_licence_are_skipped_and_named(database, operator, library, tmp_path):
    code = _marriages(database, operator)
    rows = _rows(5)
    rows[2][2] = ""  # no name for the holder
    run_load(database, operator, resource_code=code, source=Source.from_path(_write(tmp_path / "m.csv", rows)))
    _link(database, operator, code)  # linked after the load: the CLI's issue-from catches up
    with database.reading() as session:
        snapshot = last_snapshot(session, service.licence_type(session, "结婚证").source_resource_id)
    report = flows.issue_from_snapshot(database, operator, type_code="结婚证", snapshot=snapshot)
    assert (report.issued, report.skipped) == (4, 1) and report.problems[0].startswith("J00003")
    assert _count(database) == 4


def test_a_revoked_licence_is_not_issued_again_from_its_record(database, operator, library, tmp_path):
    code = _marriages(database, operator)
    _link(database, operator, code)
    run_load(database, operator, resource_code=code, source=Source.from_path(_write(tmp_path / "m.csv", _rows(3))))
    with database.unit_of_work() as session:
        first = session.scalar(select(Licence).order_by(Licence.id).limit(1))
        service.change_status(session, operator, identifier=first.identifier, action="revoke", reason="撤销婚姻登记")
        snapshot = last_snapshot(session, first.type.source_resource_id)
    again = flows.issue_from_snapshot(database, operator, type_code="结婚证", snapshot=snapshot)
    assert (again.issued, again.reissued) == (0, 0) and _count(database) == 3
