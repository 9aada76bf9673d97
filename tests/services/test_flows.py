"""The pieces under the one window: working days, BPMN flows (written, uploaded, refused), and
what many callers at once must not break: two departments deciding one case's parallel reviews
at the same moment, and two escalation sweeps running together."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from datong.errors import InvalidInput
from datong.licenses.models import Licence
from datong.services import bpmn, intake, review
from datong.services.calendar import add_working_days, is_known, is_workday, working_days_between
from datong.services.models import Case, CaseEvent, ReviewTask
from datong.services.service import save_item
from tests.helpers import DEPT_CODE, OTHER_CODE
from tests.services.conftest import CERTIFICATE, certificate_spec, staff

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def test_working_days_follow_the_adjusted_holidays():
    assert not is_workday(date(2026, 10, 1))  # 国庆
    assert add_working_days(date(2026, 9, 30), 1) > date(2026, 10, 7)  # the whole holiday is skipped
    assert working_days_between(date(2026, 12, 4), date(2026, 12, 7)) == 1  # Friday → Monday
    assert add_working_days(date(2026, 12, 7), 0) == date(2026, 12, 7)


def test_a_year_the_calendar_does_not_know_counts_weekdays_less_fixed_holidays():
    assert not is_known(2040)
    assert not is_workday(date(2040, 1, 1)) and not is_workday(date(2040, 1, 7))  # 元旦, a Saturday
    assert is_workday(date(2040, 1, 2))


def test_generated_flow_runs_and_survives_serialisation():
    xml = bpmn.review_flow("t", "测试", [[("甲", "甲审核"), ("乙", "乙审核")], [("甲", "终审")]])
    assert bpmn.user_lanes(xml) == {"review_1_1": "甲", "review_1_2": "乙", "review_2_1": "甲"}
    workflow = bpmn.start(xml)
    assert sorted(s.name for s in bpmn.ready(workflow)) == ["乙审核", "甲审核"]
    for step in bpmn.ready(workflow):
        workflow = bpmn.loads(bpmn.dumps(workflow))  # as each request does: state from the row
        bpmn.complete(workflow, step.id, {"decision": "approve"})
    assert [s.name for s in bpmn.ready(workflow)] == ["终审"] and not bpmn.finished(workflow)
    bpmn.complete(workflow, bpmn.ready(workflow)[0].id, {})
    assert bpmn.finished(workflow) and "review_2_1" in bpmn.done_steps(workflow)


@pytest.mark.parametrize("flow, reason", [
    ('<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "DOCTYPE"),
    ("<not-bpmn/>", "cannot be read"),
])
def test_unreadable_flows_are_refused_before_the_engine_sees_them(flow, reason):
    with pytest.raises(InvalidInput) as caught:
        bpmn.parse(flow)
    assert reason in str(caught.value.params["reason"])


def test_uploaded_flow_needs_known_departments_in_its_lanes(database, operator, window):
    unknown = bpmn.review_flow("x", "x", [[("不存在的部门", "审核")]])
    with database.unit_of_work() as session, pytest.raises(Exception) as caught:
        save_item(session, operator, spec=certificate_spec(flow=unknown))
    assert "不存在的部门" in str(caught.value.params)
    by_name = bpmn.review_flow("y", "y", [[("测试省民政厅", "民政审核")]])  # a lane may name the department
    with database.unit_of_work() as session:
        assert save_item(session, operator, spec=certificate_spec(flow=by_name)).flow == by_name


def _accepted(database, person) -> str:
    with database.unit_of_work() as session:
        clerk = staff(session, "clerk1")
        number = intake.open_case(session, clerk, applicant=person, item=CERTIFICATE, authorised=True).number
        intake.update_form(session, clerk, number=number, values={"联系地址": "杭州市西湖区文三路1号"})
        intake.attach(session, clerk, number=number, material="户口簿", filename="a.png", content=PNG)
        intake.accept_case(session, clerk, number=number)
    return number


def _decide_at_once(database, decisions: list[tuple[str, int]]) -> list[Exception]:
    """Approve these (username, task) at the same moment, each in its own transaction; the failures."""
    failures, barrier = [], threading.Barrier(len(decisions))

    def decide(username: str, task_id: int) -> None:
        barrier.wait()
        try:
            with database.unit_of_work() as session:
                review.decide_task(session, staff(session, username), task_id=task_id, outcome="approve")
        except Exception as exc:  # noqa: BLE001 - reported to the test
            failures.append(exc)

    threads = [threading.Thread(target=decide, args=decision) for decision in decisions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures


def test_two_departments_deciding_at_once_complete_the_case_once(database, window):
    number = _accepted(database, window["people"][1])
    with database.reading() as session:
        tasks = {t.department.code: t.id for t in session.scalars(select(ReviewTask).join(Case).where(Case.number == number))}
    assert _decide_at_once(database, [("mzclerk", tasks[OTHER_CODE]), ("clerk1", tasks[DEPT_CODE])]) == []
    with database.reading() as session:
        case = intake.find_case(session, number)
        assert case.status == "completed" and case.outcome == "approved"
        issued = session.scalar(select(func.count()).select_from(Licence).where(Licence.holder_key == case.applicant_key,
                                                                              Licence.identifier == case.result_licence))
        completions = session.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.case_id == case.id, CaseEvent.action == "completed"))
    assert issued == 1 and completions == 1


def test_two_sweeps_at_once_escalate_each_review_once(database, window):
    for _ in range(2):  # two cases of one applicant, two reviews each
        _accepted(database, window["people"][1])
    later, counts = add_working_days(date.today(), 30), []
    threads = [threading.Thread(target=lambda: counts.append(review.escalate_overdue(database, today=later)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(counts) == 2 and sum(counts) == 4  # both sweeps finished, neither failed
    with database.reading() as session:
        assert session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.action == "escalated")) == 4


def test_the_last_two_items_of_a_bundle_decided_at_once_finish_it_once(database, operator, window):
    from datong.services.service import save_bundle
    from tests.services.conftest import HOUSEHOLD

    with database.unit_of_work() as session:  # two items side by side, no dependency between them
        save_bundle(session, operator, code="BUNDLE-PAR", name="并行一件事", items=[{"item": CERTIFICATE}, {"item": HOUSEHOLD}])
        clerk = staff(session, "clerk1")
        number = intake.open_case(session, clerk, applicant=window["people"][1], bundle="BUNDLE-PAR",
                                  authorised=True).number
        intake.update_form(session, clerk, number=number, values={"联系地址": "杭州市西湖区文三路1号"})
        intake.attach(session, clerk, number=number, material="户口簿", filename="a.png", content=PNG)
        intake.accept_case(session, clerk, number=number)
        first, second = intake.case_children(session, intake.find_case(session, number))
        mz = session.scalar(select(ReviewTask.id).where(ReviewTask.case_id == first.id, ReviewTask.name == "民政审核"))
        review.decide_task(session, staff(session, "mzclerk"), task_id=mz, outcome="approve")
        last = {"clerk1": [session.scalar(select(ReviewTask.id).where(ReviewTask.case_id == first.id,
                                                                     ReviewTask.name == "公安核查")),
                           session.scalar(select(ReviewTask.id).where(ReviewTask.case_id == second.id))]}
    assert _decide_at_once(database, [("clerk1", task) for task in last["clerk1"]]) == []
    with database.reading() as session:
        parent = intake.find_case(session, number)
        finished = session.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.case_id == parent.id, CaseEvent.action == "completed"))
    assert (parent.status, parent.outcome, finished) == ("completed", "approved", 1)
