"""How a case moves once accepted: its flow started, review tasks opened per department with
their deadlines, automatic approval tried first, the result issued as a licence on 办结, a
bundle's next items started when the items they depend on are done, and every change recorded
(case history, the applicant's notice, the outbox event, subscribers' webhooks)."""

from __future__ import annotations

import hashlib
import math
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from datong import events
from datong.db.base import utcnow
from datong.db.snapshot import Prepared, snapshot_of
from datong.db.writes import add_as_loaded, append_rows
from datong.errors import DatongError
from datong.i18n import N_, Term
from datong.security.audit import append_event
from datong.security.authz import Actor, Target, authorize
from datong.security.models import Department
from datong.services import bpmn, rules
from datong.services.calendar import add_working_days
from datong.services.models import (
    APPROVED,
    COMPLETED,
    DELIVERED,
    DRAFT,
    OPEN_STATES,
    PAUSED,
    REFUSED,
    REJECTED,
    REVIEW,
    TASK_CANCELLED,
    TASK_OPEN,
    TASK_SUPPLEMENT,
    WAITING,
    Case,
    CaseEvent,
    Notice,
    ReviewTask,
    ServiceItem,
)

STATE_LABELS = {DRAFT: N_("draft"), WAITING: N_("waiting for another item"), REVIEW: N_("in review"),
                PAUSED: N_("awaiting the applicant"), COMPLETED: N_("completed"), DELIVERED: N_("delivered"),
                REFUSED: N_("not accepted")}
ENGINE = Actor.system("one-window")


class WrongCaseState(DatongError):
    status = 409
    code = "wrong_case_state"
    message = N_("Case {number} is {state}; that cannot be done now.")


def authorize_intake(actor: Actor, case: Case) -> None:
    if actor.kind == "holder":
        authorize(actor, "case.own", Target("holder", case.applicant_key))
    else:
        authorize(actor, "case.intake", Target("case", case.number, case.department_id))


def require_open(case: Case) -> None:
    if case.status not in OPEN_STATES:
        raise WrongCaseState(number=case.number, state=Term(STATE_LABELS[case.status]))


def record(session: Session, case: Case, actor: Actor, action: str, detail: dict | None = None) -> None:
    """The case's history, the outbox event other domains consume, and subscribers' webhooks. The
    history's row is written at the driver level, as the event's is: every step of every case
    records one, and SQLAlchemy's execution path cost more than the row (nothing reads it back in
    the transaction through the ORM)."""
    if case.id is None:
        session.flush()
    append_rows(session, CaseEvent, [{"case_id": case.id, "action": action, "actor": actor.name,
                                      "detail": detail or {}, "at": utcnow()}])
    payload = {"case": case.number, "action": action, "status": case.status, "outcome": case.outcome,
               "item": case.item.code if case.item else None, "bundle": case.bundle.code if case.bundle else None,
               "applicant": case.applicant_key}
    events.publish(session, events.CASE_CHANGED, payload)
    from datong.services.webhooks import queue_deliveries

    queue_deliveries(session, case, action)


def notice(session: Session, case: Case, kind: str, text: str) -> None:
    session.add(Notice(holder_key=case.applicant_key, case_id=case.id, kind=kind, text=text))


_DEPARTMENTS = Prepared(select(Department.id, Department.code, Department.name, Department.short_name))


def _departments(session: Session) -> dict[str, int]:
    """Department ids by credit code, name and short name (BPMN lanes may use any), per transaction."""
    if "lane_departments" in session.info:
        return session.info["lane_departments"]
    found = {}
    for row in snapshot_of(session).rows(_DEPARTMENTS, {}):  # at the driver level: a province has hundreds
        for key in row[1:]:
            if key:
                found[key] = row[0]
    session.info["lane_departments"] = found
    return found


def _task_days(item: ServiceItem) -> int:
    """Each review's share of the promised limit: the limit over the flow's stages of review (the
    hub's own flows name tasks review_<stage>_<n>; in a drawn flow each task counts as a stage)."""
    stages = len({step.rsplit("_", 1)[0] for step in bpmn.user_lanes(item.flow)}) or 1
    return max(1, math.floor(item.promised_days / stages))


def _open_tasks(session: Session, case: Case, workflow, *, fresh: bool = False) -> None:
    """Tasks for the flow's ready steps that have none yet (``fresh``: a flow just started, whose
    steps' engine ids are new, so there is nothing to look up), in one statement."""
    known = set() if fresh else set(session.scalars(select(ReviewTask.engine_id).where(ReviewTask.case_id == case.id)))
    depts, today = _departments(session), date.today()
    due = min(add_working_days(today, _task_days(case.item)), case.due_on or today)
    add_as_loaded(session, [ReviewTask(case_id=case.id, engine_id=step.id, step=step.spec, name=step.name,
                                       department_id=depts[step.lane], opened_on=today, due_on=due)
                            for step in bpmn.ready(workflow) if step.id not in known])


def _already(session: Session, case: Case) -> set[str]:
    rows = session.execute(select(ServiceItem.code).join(Case, Case.item_id == ServiceItem.id).where(
        Case.applicant_key == case.applicant_key, Case.outcome == APPROVED, Case.id != case.id)).all()
    return {r[0] for r in rows}


def _sampled(case: Case, rate: float) -> bool:
    """Whether an automatic decision is checked by a person: a fixed share, chosen by the case number."""
    return int(hashlib.sha256(case.number.encode()).hexdigest()[:8], 16) % 1000 < round(rate * 1000)


def start(session: Session, case: Case) -> None:
    """Start a case's review: automatically decided if its item's rules all say yes; else its flow."""
    item = case.item
    if item.auto_rules:
        verdict, trace = rules.evaluate(item.auto_rules, case.form, case.sources, today=date.today(),
                                        already=_already(session, case), own=item.code)
        case.auto_trace = trace
        if verdict == rules.YES:
            case.automatic = True
            record(session, case, ENGINE, "auto_approved", {"trace": trace})
            if _sampled(case, item.sample_rate):
                session.add(ReviewTask(case_id=case.id, step="sample", name="自动审批抽查", department_id=item.department_id,
                                       sample=True, opened_on=date.today(), due_on=add_working_days(date.today(), 5)))
            complete(session, case, APPROVED, ENGINE)
            return
        record(session, case, ENGINE, "auto_declined", {"verdict": verdict, "trace": trace})
    workflow = bpmn.start(item.flow)
    case.status = REVIEW
    _open_tasks(session, case, workflow, fresh=True)
    case.workflow = bpmn.dumps(workflow)
    record(session, case, ENGINE, "review_started", {})


def advance(session: Session, case: Case, task: ReviewTask, data: dict) -> None:
    """A review approved: the flow moves on, new tasks open, and the case completes at the end."""
    workflow = bpmn.loads(case.workflow)
    bpmn.complete(workflow, task.engine_id, data)
    case.workflow = bpmn.dumps(workflow)
    if bpmn.finished(workflow):
        complete(session, case, APPROVED, ENGINE)
    else:
        _open_tasks(session, case, workflow)


def cancel_open_tasks(session: Session, case: Case) -> None:
    for task in session.scalars(select(ReviewTask).where(ReviewTask.case_id == case.id,
                                                         ReviewTask.status.in_((TASK_OPEN, TASK_SUPPLEMENT)),
                                                         ReviewTask.sample.is_(False))):
        task.status, task.decided_at = TASK_CANCELLED, utcnow()


def _issue_result(session: Session, case: Case) -> str | None:
    from datong.licenses.service import Draft, issue_licences

    result = case.item.result
    if not result:
        return None
    data = {field: case.form.get(source, "") for field, source in result["fields"].items()}
    name = case.form.get(result.get("holder_name") or "", "") or case.applicant_name
    holder = case.form.get(result.get("holder") or "", "") or case.applicant_key  # a company set up by the applicant
    licences = issue_licences(session, ENGINE, type_code=result["type"], issuer=case.item.department.code,
                              drafts=[Draft(holder, name or holder, data)])
    return licences[0].identifier


def complete(session: Session, case: Case, outcome: str, actor: Actor, reason: str | None = None) -> None:
    """办结: the decision made; on approval the result licence is issued; the applicant is told."""
    from datong.services.calendar import working_days_between

    today = date.today()
    case.status, case.outcome, case.completed_on, case.reason = COMPLETED, outcome, today, reason or case.reason
    case.working_days = max(working_days_between(case.accepted_on or today, today) - case.paused_days, 0)
    if outcome == APPROVED:
        case.result_licence = _issue_result(session, case)
    else:
        cancel_open_tasks(session, case)
    record(session, case, actor, "completed", {"outcome": outcome, "licence": case.result_licence,
                                               "working_days": case.working_days})
    append_event(session, actor=actor, action="case.complete", target=f"case:{case.number}",
                 subjects=[case.applicant_key], case_number=case.number,
                 detail={"outcome": outcome, "licence": case.result_licence, "automatic": case.automatic})
    what = case.item.name if case.item else case.number
    if outcome == APPROVED:
        notice(session, case, "completed", f"您申请的{what}（{case.number}）已办结" +
               (f"，电子证照 {case.result_licence} 已发放。" if case.result_licence else "。"))
    else:
        notice(session, case, "rejected", f"您申请的{what}（{case.number}）未获批准：{case.reason or ''}")
    if case.channel == "online" and outcome == APPROVED:
        case.status, case.delivery, case.delivered_at = DELIVERED, "online", utcnow()
    if case.parent_id:
        _after_child(session, case)


def start_ready_children(session: Session, parent: Case, children: list[Case]) -> None:
    """Start each item of a bundle whose dependencies are done; the others wait."""
    order = {e["item"]: e["after"] for e in parent.bundle.items}
    done = {c.item.code: c for c in children if c.status in (COMPLETED, DELIVERED) and c.outcome == APPROVED}
    parent.status = REVIEW
    for child in children:
        if child.status not in (DRAFT, WAITING):
            continue
        if set(order.get(child.item.code, [])) <= set(done):
            for dep in order.get(child.item.code, []):
                licence = done[dep].result_licence
                child.materials = [{**m, "by": licence} if m["source"] == "result" and m.get("item") == dep and licence
                                   else m for m in child.materials]
            start(session, child)
        elif child.status == DRAFT:
            child.status = WAITING
            record(session, child, ENGINE, "waiting", {"after": order.get(child.item.code, [])})


def _after_child(session: Session, child: Case) -> None:
    parent = session.get(Case, child.parent_id)
    siblings = list(session.scalars(select(Case).where(Case.parent_id == parent.id).order_by(Case.id)))
    if child.outcome == REJECTED:
        for other in siblings:
            if other.status in (WAITING, DRAFT):
                other.status, other.outcome, other.reason = COMPLETED, REJECTED, f"{child.item.name}未获批准"
                other.completed_on = date.today()
        _finish_parent(session, parent, siblings)
        return
    start_ready_children(session, parent, siblings)
    _finish_parent(session, parent, siblings)


def _finish_parent(session: Session, parent: Case, siblings: list[Case]) -> None:
    if any(c.status not in (COMPLETED, DELIVERED) for c in siblings):
        return
    from datong.services.calendar import working_days_between

    outcome = APPROVED if all(c.outcome == APPROVED for c in siblings) else REJECTED
    parent.status, parent.outcome, parent.completed_on = COMPLETED, outcome, date.today()
    parent.working_days = max(working_days_between(parent.accepted_on, date.today()) - parent.paused_days, 0)
    parent.automatic = all(c.automatic for c in siblings)
    if parent.channel == "online" and outcome == APPROVED:
        parent.status, parent.delivery, parent.delivered_at = DELIVERED, "online", utcnow()
    record(session, parent, ENGINE, "completed", {"outcome": outcome})
    notice(session, parent, "completed", f"您的{parent.bundle.name}（{parent.number}）已全部办结。")


def history(session: Session, case: Case) -> list[dict]:
    return [{"action": e.action, "actor": e.actor, "detail": e.detail, "at": e.at.isoformat(timespec="seconds")}
            for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))]


def open_case(database, actor: Actor, *, applicant: str, item: str | None = None, bundle: str | None = None,
              channel: str = "window", window: str | None = None, authorised: bool = False, answer=None):
    """Intake in three short transactions, so that no write lock is held while the applicant's
    data is read and its reads are audited: the number (and authorisation), the reads, the case.
    Returns the case number, or what ``answer(session, case)`` makes of the case in its
    transaction (it is returned once that has committed). A failure after the first leaves a
    number unused, nothing else."""
    from datong.services import intake

    with database.unit_of_work() as session:
        application = intake.reserve_case(session, actor, applicant=applicant, item=item, bundle=bundle,
                                          channel=channel, authorised=authorised)
    with database.reading() as session:
        filled = intake.prefill(session, actor, application=application)
    with database.unit_of_work() as session:
        case = intake.create_case(session, actor, application=application, filled=filled, window=window)
        out = case.number if answer is None else answer(session, case)
    return out
