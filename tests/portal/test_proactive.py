"""Proactive services: each rule writes one notice per occasion that says why, and the texts go
through the sender once."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from datong import events
from datong.ingest.flows import run_load
from datong.ingest.sources import Source
from datong.licenses import service as licences
from datong.licenses.service import Draft
from datong.portal import proactive
from datong.portal.senders import LogSender
from datong.services.models import Case, Notice
from datong.services.service import save_bundle
from tests.helpers import OTHER_CODE, citizen_id
from tests.licenses.conftest import MARRIAGE_CODE
from tests.portal.conftest import COMPANY, PHONE
from tests.registry.conftest import _resource, write_csv
from tests.services.conftest import ALLOWANCE, CERTIFICATE, HOUSEHOLD


def _notices(database, kind: str) -> list[Notice]:
    with database.reading() as session:
        return list(session.scalars(select(Notice).where(Notice.kind == kind).order_by(Notice.id)))


def test_a_person_who_turned_the_age_gets_the_allowance_decided_and_is_told_once(database, portal):
    sender = LogSender()
    me = portal["people"][1]  # born 1960-03-15; the allowance asks 60 in the tests' province
    counts = proactive.sweep(database, sender, today=date(2020, 4, 1))
    assert counts["age"] == 1
    [notice] = _notices(database, "proactive.age")
    assert notice.holder_key == me and "年满60周岁" in notice.text and "出生日期" in notice.why
    with database.reading() as session:
        case = session.scalar(select(Case).where(Case.applicant_key == me))
        assert case.item.code == ALLOWANCE and case.automatic and case.number in notice.text
    assert sender.last_to(PHONE[1]) and case.number in sender.last_to(PHONE[1])
    again = proactive.sweep(database, sender, today=date(2020, 4, 2))
    assert again["age"] == 0 and again["texted"] == 0
    with database.reading() as session:  # nobody else turned 60 that year; nobody got a second case
        assert session.scalar(select(func.count()).select_from(Case).where(Case.applicant_key == me)) == 1


def test_expiring_licences_and_annual_reports_are_reminded_once(database, operator, portal):
    today = date.today()
    with database.unit_of_work() as session:
        licences.issue_licences(session, operator, type_code=MARRIAGE_CODE, issuer=OTHER_CODE, drafts=[Draft(
            portal["people"][3], "李明", {"持证人": "李明", "登记日期": "2000-01-01", "配偶姓名": "王芳", "结婚证字号": "J2"},
            valid_from=today - timedelta(days=300), valid_until=today + timedelta(days=10))])
    spring = date(today.year, 3, 1)
    with database.unit_of_work() as session:
        assert proactive.remind_expiring(session, today) == 1
        assert proactive.remind_annual_report(session, spring) == 3
    with database.unit_of_work() as session:
        assert proactive.remind_expiring(session, today) == 0 and proactive.remind_annual_report(session, spring) == 0
        assert proactive.remind_annual_report(session, date(today.year, 7, 1)) == 0  # due by 30 June only
    [expiry] = _notices(database, "proactive.expiry")
    assert expiry.holder_key == portal["people"][3] and "换发" in expiry.text and "有效期" in expiry.why
    assert {n.holder_key for n in _notices(database, "proactive.annual_report")} == set(COMPANY)
    sender = LogSender()
    assert proactive.text_pending(database, sender) == 4  # companies have no phone: in the inbox only
    assert [s.phone for s in sender.sent] == [PHONE[3]]


def test_a_birth_record_offers_the_birth_bundle_to_both_parents(database, operator, portal, tmp_path):
    mother, father = portal["people"][4], portal["people"][3]
    with database.unit_of_work() as session:
        save_bundle(session, operator, code=proactive.BIRTH_BUNDLE, name="出生一件事",
                    items=[{"item": CERTIFICATE}, {"item": HOUSEHOLD, "after": [CERTIFICATE]}])
        code = _resource(session, operator, OTHER_CODE, "出生医学证明信息", [
            {"name": "出生医学证明编号", "element": "DE0022", "key": "record"}, {"name": "新生儿姓名", "element": "DE0002"},
            {"name": "母亲公民身份号码", "element": "DE0001", "key": "person"},
            {"name": "父亲公民身份号码", "element": "DE0001", "key": "person"}])
    path = write_csv(tmp_path / "births.csv", ["出生医学证明编号", "新生儿姓名", "母亲公民身份号码", "父亲公民身份号码"],
                     [["P123456789", "王小宝", mother, father], ["Q123456789", "李小宝", citizen_id(88, "19900101"), ""]])
    run_load(database, operator, resource_code=code, source=Source.from_path(path), mode="full")
    events.dispatch(database)
    events.dispatch(database)  # a second dispatch consumes nothing again
    offers = _notices(database, "proactive.birth")
    # both parents of the first birth, the mother of the second (it names no father)
    assert sorted(n.holder_key for n in offers) == sorted([mother, father, citizen_id(88, "19900101")])
    assert all(n.link == f"/me/apply/bundle/{proactive.BIRTH_BUNDLE}" and "父母" in n.why for n in offers)
