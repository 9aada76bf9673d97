"""Cases end to end through the services: prefill with sources, audited reads, acceptance with
working-day deadlines, parallel review, 补正 pausing the clock, 办结 issuing a licence, bundles in
dependency order, automatic approval with its trace and sampling, ratings and follow-ups."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from datong.errors import InvalidInput, PermissionDenied
from datong.licenses.models import Licence
from datong.security.models import AuditEvent
from datong.services import intake, ratings, review
from datong.services.calendar import add_working_days
from datong.services.models import Case, FollowUp, ReviewTask
from tests.services.conftest import ALLOWANCE, CERTIFICATE, HOUSEHOLD, staff

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
def settings(settings):
    """Subscribers' callbacks on this machine are allowed here (the webhook test)."""
    return settings.model_copy(update={"callback_allow": "127.0.0.1"})


def _open(database, username="clerk1", **kw):
    with database.unit_of_work() as session:
        case = intake.open_case(session, staff(session, username), **kw)
        return case.number


def test_prefill_sources_and_audited_reads(database, window):
    person = window["people"][1]
    number = _open(database, applicant=person, item=CERTIFICATE, authorised=True)
    with database.reading() as session:
        case = intake.find_case(session, number)
        assert case.form["姓名"] == "王建国" and case.form["配偶姓名"] == "李芳"
        assert case.sources["姓名"]["kind"] == "registry" and "户籍人口基本信息" in case.sources["姓名"]["label"]
        assert case.sources["配偶姓名"]["kind"] == "licence" and case.sources["联系地址"]["kind"] == "applicant"
        materials = {m["name"]: m for m in case.materials}
        assert materials["结婚证"]["by"].startswith("1.2.156") and materials["结婚证"]["hub"]
        assert materials["户口簿"]["by"] is None
        reads = session.execute(select(AuditEvent.action, AuditEvent.case_number)
                                .where(AuditEvent.case_number == number)).all()
    actions = {a for a, _ in reads}
    assert {"share.read", "licence.use"} <= actions  # the profile through sharing, the licences with consent


def test_unauthorised_applicant_brings_the_licence(database, window):
    number = _open(database, applicant=window["people"][1], item=CERTIFICATE, authorised=False)
    with database.reading() as session:
        case = intake.find_case(session, number)
        assert case.form["配偶姓名"] == ""
        assert {m["name"]: m["hub"] for m in case.materials}["结婚证"] is False


def _ready(database, number, username="clerk1"):
    with database.unit_of_work() as session:
        actor = staff(session, username)
        intake.update_form(session, actor, number=number, values={"联系地址": "杭州市西湖区文三路1号"})
        intake.attach(session, actor, number=number, material="户口簿", filename="hkb.png", content=PNG)
        return intake.accept_case(session, actor, number=number)


def test_accept_refuses_until_complete_and_names_what_is_missing(database, window):
    number = _open(database, applicant=window["people"][1], item=CERTIFICATE, authorised=True)
    with database.unit_of_work() as session, pytest.raises(intake.NotReady) as caught:
        intake.accept_case(session, staff(session, "clerk1"), number=number)
    assert "联系地址" in caught.value.params["missing"] and "户口簿" in caught.value.params["missing"]
    with database.unit_of_work() as session, pytest.raises(InvalidInput):
        intake.attach(session, staff(session, "clerk1"), number=number, material="户口簿", filename="x.exe",
                      content=b"MZ\x90\x00" * 10)


def test_parallel_review_supplement_and_result_licence(database, window):
    number = _open(database, applicant=window["people"][1], item=CERTIFICATE, authorised=True)
    case = _ready(database, number)
    assert case.due_on == add_working_days(date.today(), 5)
    with database.reading() as session:
        tasks = session.scalars(select(ReviewTask).join(Case).where(Case.number == number)).all()
        assert sorted(t.name for t in tasks) == ["公安核查", "民政审核"]  # both at once
        mz = next(t.id for t in tasks if t.name == "民政审核")
        ga = next(t.id for t in tasks if t.name == "公安核查")
    with database.unit_of_work() as session, pytest.raises(PermissionDenied):  # 公安 cannot decide 民政's task
        review.decide_task(session, staff(session, "clerk1"), task_id=mz, outcome="approve")
    with database.unit_of_work() as session:
        review.decide_task(session, staff(session, "mzclerk"), task_id=mz, outcome="supplement", note="请补充户口簿首页")
    with database.reading() as session:
        assert intake.find_case(session, number).status == "awaiting_applicant"
    with database.unit_of_work() as session:
        review.supply(session, staff(session, "clerk1"), number=number, note="已补交")
    with database.unit_of_work() as session:
        review.decide_task(session, staff(session, "mzclerk"), task_id=mz, outcome="approve")
    with database.reading() as session:
        assert intake.find_case(session, number).status == "in_review"  # 公安 still reviewing
    with database.unit_of_work() as session:
        review.decide_task(session, staff(session, "clerk1"), task_id=ga, outcome="approve")
    with database.reading() as session:
        case = intake.find_case(session, number)
        assert case.status == "completed" and case.outcome == "approved"
        licence = session.scalar(select(Licence).where(Licence.identifier == case.result_licence))
        assert licence.holder_key == window["people"][1] and licence.issuer.code == case.item.department.code


def test_reject_ends_the_case_and_cancels_the_other_review(database, window):
    number = _open(database, applicant=window["people"][1], item=CERTIFICATE, authorised=True)
    _ready(database, number)
    with database.reading() as session:
        tasks = {t.name: t.id for t in session.scalars(select(ReviewTask).join(Case).where(Case.number == number))}
    with database.unit_of_work() as session, pytest.raises(InvalidInput):  # a rejection says why
        review.decide_task(session, staff(session, "mzclerk"), task_id=tasks["民政审核"], outcome="reject")
    with database.unit_of_work() as session:
        review.decide_task(session, staff(session, "mzclerk"), task_id=tasks["民政审核"], outcome="reject", note="不符合条件")
    with database.reading() as session:
        case = intake.find_case(session, number)
        assert (case.status, case.outcome, case.reason) == ("completed", "rejected", "不符合条件")
        assert session.get(ReviewTask, tasks["公安核查"]).status == "cancelled"


def test_automatic_approval_keeps_its_trace_and_is_sampled(database, window):
    number = _open(database, applicant=window["people"][1], item=ALLOWANCE)
    with database.unit_of_work() as session:
        case = intake.accept_case(session, staff(session, "clerk1"), number=number)
        assert case.automatic and case.outcome == "approved"
        assert [t["verdict"] for t in case.auto_trace] == ["yes", "yes", "yes"]
        sample = session.scalar(select(ReviewTask).where(ReviewTask.case_id == case.id))
        assert sample.sample and sample.name == "自动审批抽查"
    second = _open(database, applicant=window["people"][1], item=ALLOWANCE)  # already receiving: to a person
    with database.unit_of_work() as session:
        case = intake.accept_case(session, staff(session, "clerk1"), number=second)
        assert not case.automatic and case.status == "in_review"
        assert [t["verdict"] for t in case.auto_trace][-1] == "no"


def test_edited_value_is_not_decided_automatically(database, window):
    number = _open(database, applicant=window["people"][1], item=ALLOWANCE)
    with database.unit_of_work() as session:
        intake.update_form(session, staff(session, "clerk1"), number=number, values={"出生日期": "1900-01-01"})
        case = intake.accept_case(session, staff(session, "clerk1"), number=number)
        assert not case.automatic and case.auto_trace[0]["verdict"] == "undecided"


def test_bundle_runs_items_in_dependency_order(database, window):
    number = _open(database, applicant=window["people"][1], bundle="BUNDLE-TEST", authorised=True)
    with database.unit_of_work() as session:
        actor = staff(session, "clerk1")
        case = intake.find_case(session, number)
        assert "联系地址" in case.form and list(case.form).count("姓名") == 1  # each datum asked once
        intake.update_form(session, actor, number=number, values={"联系地址": "杭州市西湖区文三路1号"})
        intake.attach(session, actor, number=number, material="户口簿", filename="hkb.png", content=PNG)
        intake.accept_case(session, actor, number=number)
        first, second = intake.case_children(session, case)
        assert first.status == "in_review" and second.status == "waiting"
    for username, name in (("mzclerk", "民政审核"), ("clerk1", "公安核查")):
        with database.unit_of_work() as session:
            task = session.scalar(select(ReviewTask).where(ReviewTask.case_id == first.id, ReviewTask.name == name))
            review.decide_task(session, staff(session, username), task_id=task.id, outcome="approve")
    with database.unit_of_work() as session:
        second = session.get(Case, second.id)
        assert second.status == "in_review"  # started by the first's result
        assert second.materials[0]["by"] == session.get(Case, first.id).result_licence
        task = session.scalar(select(ReviewTask).where(ReviewTask.case_id == second.id))
        review.decide_task(session, staff(session, "clerk1"), task_id=task.id, outcome="approve")
    with database.reading() as session:
        parent = intake.find_case(session, number)
        assert parent.status == "completed" and parent.outcome == "approved"


def test_intakes_keep_items_by_version_and_an_edit_reaches_the_next_case(database, operator, window):
    """Each process keeps the items and bundles it takes in by their version: a second intake loads
    no item or bundle row, and an edit (a new field of an item of the bundle) counts the version up
    and is in the very next case."""
    from sqlalchemy import event

    from datong.services.models import ServiceItem
    from datong.services.service import save_item
    from tests.services.conftest import certificate_spec

    person = window["people"][1]
    _open(database, applicant=person, bundle="BUNDLE-TEST", authorised=True)  # the keep is filled
    loaded = []

    def seen(_conn, _cursor, sql, *_args):
        if "service_items.flow" in sql or "service_bundles.description" in sql:  # a whole row
            loaded.append(sql)

    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        second = _open(database, applicant=person, bundle="BUNDLE-TEST", authorised=True)
        assert loaded == []
        with database.unit_of_work() as session:
            spec = certificate_spec()
            save_item(session, operator, spec=certificate_spec(fields=[*spec.fields, {"name": "备注"}]))
        third = _open(database, applicant=person, bundle="BUNDLE-TEST", authorised=True)
        assert len(loaded) == 2  # the edited item, loaded again by its new version; the bundle is kept
    finally:
        event.remove(database.engine, "before_cursor_execute", seen)
    with database.reading() as session:
        assert session.scalar(select(ServiceItem.version).where(ServiceItem.code == CERTIFICATE)) == 2
        assert "备注" not in intake.find_case(session, second).form
        assert "备注" in intake.find_case(session, third).form


def test_bad_rating_opens_a_follow_up(database, window):
    number = _open(database, applicant=window["people"][1], item=ALLOWANCE)
    with database.unit_of_work() as session:
        intake.accept_case(session, staff(session, "clerk1"), number=number)
    with database.unit_of_work() as session, pytest.raises(InvalidInput):
        ratings.rate_case(session, staff(session, "clerk1"), number=number, level=1)
    with database.unit_of_work() as session:
        ratings.rate_case(session, staff(session, "clerk1"), number=number, level=1, reasons=["等候时间长"])
    with database.unit_of_work() as session:
        follow = session.scalar(select(FollowUp))
        assert follow.due_on > date.today() and follow.status == "open"
        with pytest.raises(PermissionDenied):  # 公安's clerk: not the item's department
            ratings.close_follow_up(session, staff(session, "clerk1"), follow_up_id=follow.id, finding="x", rectification="",
                                    visit="y", satisfied=True)
    with database.unit_of_work() as session:
        ratings.close_follow_up(session, staff(session, "mzclerk"), follow_up_id=follow.id, finding="窗口人手不足",
                                rectification="增开窗口", visit="申请人表示满意", satisfied=True)
    with database.reading() as session:
        figures = ratings.measures(session, staff(session, "boss"))
    allowance = next(i for i in figures["items"] if i["item"] == ALLOWANCE)
    assert allowance["cases"] == 1 and allowance["automatic"] == 1.0 and allowance["rating"] == 1.0
    assert allowance["on_time"] == 1.0 and allowance["visits"] == 1.0


def test_overdue_reviews_escalate_once(database, window):
    number = _open(database, applicant=window["people"][1], item=CERTIFICATE, authorised=True)
    _ready(database, number)
    later = add_working_days(date.today(), 30)
    assert review.escalate_overdue(database, today=later) == 2
    assert review.escalate_overdue(database, today=later) == 0
    with database.reading() as session:
        assert review.overdue_count(session) == 2


def test_an_applicant_online_applies_for_themselves_only(database, window):
    from datong.security.authz import Actor

    me, other = window["people"][1], window["people"][3]
    holder = Actor.holder(me)
    with database.unit_of_work() as session:
        case = intake.open_case(session, holder, applicant=me, item=ALLOWANCE, channel="online")
        assert case.form["姓名"] == "王建国" and case.sources["姓名"]["kind"] == "registry"
        case = intake.accept_case(session, holder, number=case.number)
        assert case.automatic and case.status == "delivered" and case.delivery == "online" and case.visits == 0
        ratings.rate_case(session, holder, number=case.number, level=4)
    with database.unit_of_work() as session, pytest.raises(PermissionDenied):
        intake.open_case(session, holder, applicant=other, item=ALLOWANCE, channel="online")
    with database.reading() as session:
        reads = session.scalars(select(AuditEvent).where(AuditEvent.case_number == case.number,
                                                         AuditEvent.action == "registry.read")).all()
        assert reads and reads[0].actor == "system:one-window"


def test_department_systems_hear_of_case_changes_through_sharing(database, operator, window):
    import json as jsonlib

    from datong.sharing import service as sharing
    from datong.sharing.models import Delivery, Grant
    from datong.sharing.subscriptions import subscribe
    from datong.services.webhooks import RESOURCE_NAME
    from datong.catalog.models import Resource

    with database.unit_of_work() as session:
        code = session.scalar(select(Resource.code).where(Resource.name == RESOURCE_NAME))
        mz = staff(session, "mzadmin")
        asked = sharing.request_access(session, mz, resource_code=code, items=["办件编号", "办件状态", "申请人证件号码"],
                                       purpose="民政业务系统同步办件状态", legal_basis="政务服务条例", days=30)
        sharing.decide_request(session, operator, request_id=asked.id, approve=True)
        grant = session.scalar(select(Grant.id).where(Grant.request_id == asked.id))
        subscribe(session, mz, grant_id=grant, callback_url="http://127.0.0.1:9/hooks/cases",
                  events=["inserted", "updated"])
    number = _open(database, applicant=window["people"][1], item=ALLOWANCE)
    with database.unit_of_work() as session:
        intake.accept_case(session, staff(session, "clerk1"), number=number)
    with database.reading() as session:
        bodies = [jsonlib.loads(d.body) for d in session.scalars(select(Delivery).where(Delivery.record_key == number)
                                                                 .order_by(Delivery.id))]
    assert [b["action"] for b in bodies][:2] == ["opened", "accepted"] and bodies[-1]["action"] == "completed"
    assert bodies[-1]["record"]["办件状态"] == "completed"
    assert bodies[-1]["record"]["申请人证件号码"] != window["people"][1]  # masked: not granted in plain


def test_items_are_found_by_code_or_name_once_per_transaction(database, window):
    from sqlalchemy import event

    from datong.errors import NotFound
    from datong.services.service import get_item, get_items

    statements = []
    with database.reading() as session:
        event.listen(session.connection(), "before_cursor_execute", lambda *a: statements.append(a[2]))
        found = get_items(session, [HOUSEHOLD, "婚姻状况证明", CERTIFICATE])
        assert [i.code for i in found] == [HOUSEHOLD, CERTIFICATE, CERTIFICATE]
        assert len(statements) == 1  # one statement for all three
        assert get_item(session, HOUSEHOLD) is found[0] and len(statements) == 1  # known in this transaction
        with pytest.raises(NotFound) as refused:
            get_items(session, [CERTIFICATE, "没有这个事项"])
        assert refused.value.params["key"] == "没有这个事项"
