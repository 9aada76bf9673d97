"""Review by the departments (后台分类审批): each decides its task (approve, reject, or ask for more
material, which pauses the clock), cases are read and listed by those involved, results are
delivered (出件), and overdue reviews are escalated by a sweep any process may run."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, lazyload

from datong.db.base import utcnow
from datong.db.paging import Found, Window, window
from datong.db.snapshot import Prepared, among, snapshot_of
from datong.errors import InvalidInput, NotFound
from datong.i18n import N_, Term
from datong.security.audit import append_event, record_read
from datong.security.authz import Actor, Target, authorize, service
from datong.security.models import Department
from datong.security.roles import Role
from datong.services import bpmn, flows
from datong.services.calendar import add_working_days, working_days_between
from datong.services.intake import case_children, find_case
from datong.services.models import (
    COMPLETED,
    DELIVERED,
    PAUSED,
    REJECTED,
    REVIEW,
    TASK_APPROVED,
    TASK_OPEN,
    TASK_REJECTED,
    TASK_SUPPLEMENT,
    Attachment,
    Case,
    CaseEvent,
    ReviewTask,
)

TASK = Term(N_("Review task"))
OUTCOMES = ("approve", "reject", "supplement")


def _task(session: Session, task_id: int) -> ReviewTask:
    task = session.get(ReviewTask, task_id)
    if task is None:
        raise NotFound(what=TASK, key=str(task_id))
    return task


def parties(session: Session, case: Case) -> set[int]:
    """The departments a case concerns: where it was taken in, the items' owners, its reviewers."""
    ids = {case.department_id} if case.department_id else set()
    cases = [case, *case_children(session, case)]
    ids |= {c.item.department_id for c in cases if c.item}
    ids |= set(session.scalars(select(ReviewTask.department_id).where(ReviewTask.case_id.in_([c.id for c in cases]))))
    return ids


def _authorize_read(session: Session, actor: Actor, case: Case) -> None:
    if actor.kind == "holder":
        authorize(actor, "case.own", Target("holder", case.applicant_key))
        return
    authorize(actor, "case.read", Target("case", case.number, actor.department_id,
                                         {"departments": parties(session, case)}))


@service(mutates=True)
def decide_task(session: Session, actor: Actor, *, task_id: int, outcome: str, note: str = "") -> ReviewTask:
    """A department's decision on its review: approve, reject (the case ends 不予许可), or
    supplement (补正: the applicant is asked for more, and the clock stops until they supply it)."""
    task = _task(session, task_id)
    authorize(actor, "case.review", Target("review_task", str(task.id), task.department_id))
    if outcome not in OUTCOMES:
        raise InvalidInput(field="outcome", reason=Term(N_("approve, reject or supplement")))
    case = session.get(Case, task.case_id)
    if session.bind.dialect.name == "postgresql":  # one decision at a time per case (and per bundle)
        for locked in filter(None, (case.parent_id, case.id)):  # the bundle first, always in this order
            session.execute(select(Case.id).where(Case.id == locked).with_for_update())
        session.refresh(case)
        session.refresh(task)  # another decision on it may have committed while we waited
    if task.status != TASK_OPEN or (case.status != REVIEW and not task.sample):
        raise flows.WrongCaseState(number=case.number, state=Term(flows.STATE_LABELS[case.status]))
    if outcome != "approve" and not note.strip():
        raise InvalidInput(field="note", reason=Term(N_("say why, or what the applicant must supply")))
    task.note, task.decided_by = note.strip()[:2000], actor.name
    if task.sample:  # a check of an automatic decision: recorded, the case is not reopened
        task.status, task.decided_at = TASK_APPROVED if outcome == "approve" else TASK_REJECTED, utcnow()
        flows.record(session, case, actor, "sample_checked", {"task": task.id, "outcome": outcome, "note": task.note})
    elif outcome == "supplement":
        task.status = TASK_SUPPLEMENT
        case.status, case.paused_on = PAUSED, date.today()
        flows.record(session, case, actor, "supplement_asked", {"task": task.id, "note": task.note})
        flows.notice(session, case, "supplement", f"您的申请（{case.number}）需要补正：{task.note}")
    elif outcome == "reject":
        task.status, task.decided_at = TASK_REJECTED, utcnow()
        flows.record(session, case, actor, "task_rejected", {"task": task.id, "step": task.step})
        flows.complete(session, case, REJECTED, actor, reason=task.note)
    else:
        task.status, task.decided_at = TASK_APPROVED, utcnow()
        flows.record(session, case, actor, "task_approved", {"task": task.id, "step": task.step})
        flows.advance(session, case, task, {"decision": "approve", "department": actor.department_code})
    append_event(session, actor=actor, action="case.review", target=f"case:{case.number}", subjects=[case.applicant_key],
                 case_number=case.number, detail={"task": task.id, "outcome": outcome})
    return task


@service(mutates=True)
def supply(session: Session, actor: Actor, *, number: str, values: dict | None = None, note: str = "") -> Case:
    """The applicant has supplied what 补正 asked for (at the window or online): the clock runs
    again, every deadline moved on by the working days it stood still."""
    case = find_case(session, number, lock=True)
    flows.authorize_intake(actor, case)
    if case.status != PAUSED:
        raise flows.WrongCaseState(number=case.number, state=Term(flows.STATE_LABELS[case.status]))
    unknown = sorted(set(values or {}) - set(case.form))
    if unknown:
        raise InvalidInput(field="form", reason=Term(N_("the form has no such field")))
    if values:
        case.form = {**case.form, **{k: str(v)[:2000] for k, v in values.items()}}
        case.sources = {**case.sources, **{k: {**(case.sources.get(k) or {}), "edited": True} for k in values}}
    stood = working_days_between(case.paused_on, date.today())
    case.paused_days += stood
    case.due_on, case.legal_due_on = add_working_days(case.due_on, stood), add_working_days(case.legal_due_on, stood)
    case.status, case.paused_on = REVIEW, None
    case.visits += 1 if actor.kind != "holder" and case.channel == "window" else 0
    for task in session.scalars(select(ReviewTask).where(ReviewTask.case_id == case.id,
                                                         ReviewTask.status.in_((TASK_OPEN, TASK_SUPPLEMENT)))):
        task.status, task.due_on = TASK_OPEN, add_working_days(task.due_on, stood)
    flows.record(session, case, actor, "supplied", {"note": note.strip()[:500], "paused_days": stood})
    append_event(session, actor=actor, action="case.supply", target=f"case:{case.number}", subjects=[case.applicant_key],
                 case_number=case.number, detail={"paused_days": stood})
    return case


@service(mutates=True)
def deliver(session: Session, actor: Actor, *, number: str, method: str) -> Case:
    """出件: the result reaches the applicant at the window, by post, or online."""
    case = find_case(session, number, lock=True)
    flows.authorize_intake(actor, case)
    if method not in ("window", "post", "online"):
        raise InvalidInput(field="method", reason=Term(N_("window, post or online")))
    if case.status != COMPLETED:
        raise flows.WrongCaseState(number=case.number, state=Term(flows.STATE_LABELS[case.status]))
    case.status, case.delivery, case.delivered_at = DELIVERED, method, utcnow()
    case.visits += 1 if method == "window" else 0
    flows.record(session, case, actor, "delivered", {"method": method})
    append_event(session, actor=actor, action="case.deliver", target=f"case:{case.number}", subjects=[case.applicant_key],
                 case_number=case.number, detail={"method": method})
    return case


def tasks_of(session: Session, case: Case) -> list[ReviewTask]:
    ids = [case.id, *[c.id for c in case_children(session, case)]]
    # the cases are at hand: not joined again with their items and bundles for each task
    return list(session.scalars(select(ReviewTask).where(ReviewTask.case_id.in_(ids)).order_by(ReviewTask.id)
                                .options(lazyload(ReviewTask.case))))


#: What the API shows of a task (``api.task_out``), in that order.
TASK_FIELDS = ("id", "case_id", "step", "name", "department", "department_name", "status", "sample", "opened_on",
               "due_on", "escalated", "decided_by", "note")
_TASKS = {dialect: Prepared(select(ReviewTask.id, ReviewTask.case_id, ReviewTask.step, ReviewTask.name, Department.code,
                                   Department.name, ReviewTask.status, ReviewTask.sample, ReviewTask.opened_on,
                                   ReviewTask.due_on, ReviewTask.escalated_at.is_not(None), ReviewTask.decided_by,
                                   ReviewTask.note)
                            .join(Department, Department.id == ReviewTask.department_id).where(clause)
                            .order_by(ReviewTask.id))
          for dialect, clause in among(ReviewTask.case_id, "ids").items()}


def task_answers(session: Session, case: Case) -> list[dict]:
    """A case's tasks (its bundle's too) as the API shows them, read at the driver level: what
    acceptance answers, where loading the tasks it had just written cost more than writing them."""
    snapshot = snapshot_of(session)
    ids = [case.id, *[c.id for c in case_children(session, case)]]
    out = []
    for row in snapshot.rows(_TASKS[snapshot.dialect.name], {"ids": snapshot.values(ids)}):
        task = dict(zip(TASK_FIELDS, row))
        task["sample"], task["escalated"] = bool(task["sample"]), bool(task["escalated"])
        for key in ("opened_on", "due_on"):  # a date from PostgreSQL, its ISO text from SQLite
            task[key] = task[key] if isinstance(task[key], str) else task[key].isoformat()
        out.append(task)
    return out


@service(mutates=False, personal=True)
def read_case(session: Session, actor: Actor, *, number: str) -> dict:
    """A case whole (form with sources, materials, tasks, history, children), for those it concerns."""
    case = find_case(session, number)
    _authorize_read(session, actor, case)
    children = case_children(session, case)
    attachments = session.execute(select(Attachment.id, Attachment.material, Attachment.filename, Attachment.size,
                                         Attachment.media_type).where(Attachment.case_id == case.id)).all()
    record_read(session, actor=actor, action="case.read", target=f"case:{case.number}",
                subjects=[case.applicant_key], purpose="办件审查", case_number=case.number)
    return {"case": case, "children": children, "tasks": tasks_of(session, case),
            "history": flows.history(session, case), "attachments": [dict(a._mapping) for a in attachments]}


@service(mutates=False, personal=True)
def read_attachment(session: Session, actor: Actor, *, number: str, attachment_id: int) -> Attachment:
    """A material the applicant brought, for those the case concerns; each opening is audited."""
    case = find_case(session, number)
    _authorize_read(session, actor, case)
    row = session.get(Attachment, attachment_id)
    if row is None or row.case_id != case.id:
        raise NotFound(what=Term(N_("Attachment")), key=str(attachment_id))
    record_read(session, actor=actor, action="case.attachment", target=f"case:{case.number}",
                subjects=[case.applicant_key], purpose="办件审查", case_number=case.number,
                detail={"attachment": row.id, "material": row.material})
    return row


@service(mutates=False, personal=True)
def list_cases(session: Session, actor: Actor, *, status: str | None = None, q: str | None = None,
               page: Window | None = None) -> Found[Case]:
    """Cases the caller's department took in, owns or reviews (all of them for the bureau); the
    list names applicants, so reading it is audited with every applicant it shows."""
    authorize(actor, "case.list", Target("case", None, actor.department_id))
    query = select(Case).where(Case.parent_id.is_(None)).order_by(Case.id.desc())
    if not actor.has(Role.BUREAU_ADMIN, Role.AUDITOR) and actor.kind != "system":
        mine = select(ReviewTask.case_id).where(ReviewTask.department_id == actor.department_id)
        child_of = select(Case.parent_id).where(Case.id.in_(mine))
        query = query.where(or_(Case.department_id == actor.department_id, Case.id.in_(mine), Case.id.in_(child_of)))
    if status:
        query = query.where(Case.status == status)
    if q:
        query = query.where(or_(Case.number.contains(q.strip()), Case.applicant_name == q.strip()))
    found = window(session, query, page or Window())
    if found:
        record_read(session, actor=actor, action="case.list", target="cases",
                    subjects=sorted({c.applicant_key for c in found}), purpose="办件查询",
                    detail={"status": status, "q": q, "returned": len(found)})
    return found


@service(mutates=False)
def my_tasks(session: Session, actor: Actor, *, page: Window | None = None) -> Found[ReviewTask]:
    """The open review tasks of the caller's department, soonest deadline first."""
    authorize(actor, "case.review", Target("review_task", None, actor.department_id))
    query = (select(ReviewTask).where(ReviewTask.department_id == actor.department_id, ReviewTask.status == TASK_OPEN)
             .order_by(ReviewTask.due_on, ReviewTask.id))
    return window(session, query, page or Window())


def flow_state(found: dict) -> dict:
    """A case read by ``read_case`` as its diagram needs it: the BPMN, the steps passed and the
    steps open now."""
    case = found["case"]
    done = bpmn.done_steps(bpmn.loads(case.workflow)) if case.workflow else []
    current = [t.step for t in found["tasks"] if t.status in (TASK_OPEN, TASK_SUPPLEMENT) and not t.sample]
    return {"bpmn": case.item.flow, "done": done, "current": current}


def escalate_overdue(database, *, today: date | None = None, batch: int = 1000) -> int:
    """督办: every open review past its deadline is escalated once (its department and the bureau
    see it flagged). Indexed by (status, due_on), in short batches; any process may run it, and
    two running at once escalate each task once (the update is conditional)."""
    today, total = today or date.today(), 0
    while True:
        with database.reading() as session:
            due = session.execute(select(ReviewTask.id, ReviewTask.case_id).where(
                ReviewTask.status == TASK_OPEN, ReviewTask.due_on < today, ReviewTask.escalated_at.is_(None))
                .order_by(ReviewTask.id).limit(batch)).all()
        if not due:
            return total
        with database.unit_of_work() as session:
            now = utcnow()
            done = session.execute(update(ReviewTask).where(ReviewTask.id.in_([d.id for d in due]),
                                                            ReviewTask.escalated_at.is_(None))
                                   .values(escalated_at=now).returning(ReviewTask.id, ReviewTask.case_id)).all()
            if done:  # another sweep may have taken them all between the read and this write
                session.execute(CaseEvent.__table__.insert(), [
                    {"case_id": d.case_id, "action": "escalated", "actor": flows.ENGINE.name,
                     "detail": {"task": d.id}, "at": now} for d in done])
            total += len(done)


def overdue_count(session: Session, department_id: int | None = None) -> int:
    query = select(func.count()).select_from(ReviewTask).where(ReviewTask.status == TASK_OPEN,
                                                               ReviewTask.escalated_at.is_not(None))
    if department_id is not None:
        query = query.where(ReviewTask.department_id == department_id)
    return session.scalar(query) or 0
