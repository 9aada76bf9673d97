"""好差评 and the one window's measures. A rating of 1 or 2 (差评) opens a follow-up for the item's
department with a deadline: it verifies, rectifies and visits the applicant back (回访), as a
quality issue goes back to its provider. Measures per item and department: cases, on-time share,
average working days, materials the hub supplied, visits needed, automatic share, rating."""

from __future__ import annotations

from datetime import date

from sqlalchemy import case as when
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datong.db.base import utcnow
from datong.errors import Conflict, InvalidInput, NotFound
from datong.i18n import N_, Term
from datong.security.audit import append_event
from datong.security.authz import Actor, Target, authorize, service
from datong.security.models import Department
from datong.security.roles import Role
from datong.services import flows
from datong.services.calendar import add_working_days
from datong.services.intake import find_case
from datong.services.models import (
    APPROVED,
    COMPLETED,
    DELIVERED,
    Case,
    FollowUp,
    Rating,
    ServiceItem,
)

LEVELS = {1: N_("very dissatisfied"), 2: N_("dissatisfied"), 3: N_("fair"), 4: N_("satisfied"), 5: N_("very satisfied")}
BAD = 2  # 1 and 2 are 差评
FOLLOW_UP_DAYS = 15  # working days to verify, rectify and visit back


@service(mutates=True)
def rate_case(session: Session, actor: Actor, *, number: str, level: int, reasons: list[str] | None = None,
              comment: str = "") -> Rating:
    """The applicant rates a completed case (online, or on the window's rating pad)."""
    case = find_case(session, number)
    if actor.kind == "holder":
        authorize(actor, "case.own", Target("holder", case.applicant_key))
    else:
        authorize(actor, "case.rate", Target("case", case.number, case.department_id))
    if case.status not in (COMPLETED, DELIVERED) or case.parent_id:
        raise flows.WrongCaseState(number=case.number, state=Term(flows.STATE_LABELS[case.status]))
    if level not in LEVELS:
        raise InvalidInput(field="level", reason=Term(N_("from 1 (very dissatisfied) to 5 (very satisfied)")))
    if level <= BAD and not (reasons or comment.strip()):
        raise InvalidInput(field="reasons", reason=Term(N_("say what went wrong, so that it can be put right")))
    if session.scalar(select(Rating.id).where(Rating.case_id == case.id)) is not None:
        raise Conflict(what=Term(N_("Rating")), key=case.number)
    item = case.item or session.get(ServiceItem, session.scalar(select(Case.item_id).where(Case.parent_id == case.id)
                                                                .order_by(Case.id).limit(1)))
    rating = Rating(case_id=case.id, item_id=item.id, department_id=item.department_id, window=case.window,
                    level=level, reasons=[str(r)[:100] for r in (reasons or [])][:10], comment=comment.strip()[:1000],
                    channel="online" if actor.kind == "holder" else "window")
    session.add(rating)
    session.flush()
    if level <= BAD:
        session.add(FollowUp(rating_id=rating.id, department_id=item.department_id,
                             due_on=add_working_days(date.today(), FOLLOW_UP_DAYS)))
    flows.record(session, case, actor, "rated", {"level": level})
    append_event(session, actor=actor, action="case.rate", target=f"case:{case.number}", case_number=case.number,
                 detail={"level": level, "reasons": rating.reasons})
    return rating


@service(mutates=False)
def list_follow_ups(session: Session, actor: Actor, *, status: str | None = "open") -> list[FollowUp]:
    authorize(actor, "followup.read", Target("follow_up", None, actor.department_id))
    query = select(FollowUp).order_by(FollowUp.due_on, FollowUp.id)
    if actor.kind != "system" and not actor.has(Role.BUREAU_ADMIN, Role.AUDITOR):
        query = query.where(FollowUp.department_id == actor.department_id)
    if status:
        query = query.where(FollowUp.status == status)
    return list(session.scalars(query.limit(500)))


def case_numbers(session: Session, follow_ups: list[FollowUp]) -> dict[int, str]:
    """follow-up id → its case's number, in one query."""
    by_case = {f.rating.case_id: f.id for f in follow_ups}
    rows = session.execute(select(Case.id, Case.number).where(Case.id.in_(list(by_case)))).all() if by_case else []
    return {by_case[case_id]: number for case_id, number in rows}


@service(mutates=True)
def close_follow_up(session: Session, actor: Actor, *, follow_up_id: int, finding: str, rectification: str,
                    visit: str, satisfied: bool) -> FollowUp:
    """整改 and 回访 done: what was found, what was put right, what the applicant said."""
    row = session.get(FollowUp, follow_up_id)
    if row is None:
        raise NotFound(what=Term(N_("Follow-up")), key=str(follow_up_id))
    authorize(actor, "followup.manage", Target("follow_up", str(row.id), row.department_id))
    if row.status != "open":
        raise Conflict(what=Term(N_("Follow-up")), key=str(row.id))
    if not finding.strip() or not visit.strip():
        raise InvalidInput(field="visit", reason=Term(N_("record what was found and what the applicant said on the return visit")))
    row.finding, row.rectification, row.visit = finding.strip()[:2000], rectification.strip()[:2000], visit.strip()[:2000]
    row.satisfied, row.status, row.closed_at, row.closed_by = satisfied, "closed", utcnow(), actor.name
    case = session.get(Case, row.rating.case_id)
    flows.record(session, case, actor, "follow_up_closed", {"follow_up": row.id, "satisfied": satisfied})
    append_event(session, actor=actor, action="case.follow_up", target=f"follow_up:{row.id}", case_number=case.number,
                 detail={"satisfied": satisfied})
    return row


def _material_counts(session: Session, done) -> dict[int, tuple[int, int]]:
    """Per item: materials the hub supplied and materials brought, over completed cases."""
    counts: dict[int, list[int]] = {}
    for item_id, materials in session.execute(select(Case.item_id, Case.materials).where(done, Case.item_id.is_not(None))):
        entry = counts.setdefault(item_id, [0, 0])
        for m in materials or []:
            if m.get("by"):
                entry[0 if m.get("hub") and not str(m["by"]).startswith("attachment:") else 1] += 1
    return {k: (v[0], v[1]) for k, v in counts.items()}


@service(mutates=False)
def measures(session: Session, actor: Actor, *, since: date | None = None, until: date | None = None) -> dict:
    """The one window's figures per item and per department (every department's, for anyone signed in)."""
    authorize(actor, "service.measures", Target("measures"))
    done = Case.status.in_((COMPLETED, DELIVERED))
    if since:
        done = done & (Case.completed_on >= since)
    if until:
        done = done & (Case.completed_on <= until)
    on_time = func.sum(when((Case.completed_on <= Case.due_on, 1), else_=0))
    rows = session.execute(
        select(ServiceItem.id, ServiceItem.code, ServiceItem.name, Department.code, Department.name, func.count(Case.id),
               on_time, func.avg(Case.working_days), func.avg(Case.visits),
               func.sum(when((Case.automatic.is_(True), 1), else_=0)), func.sum(when((Case.outcome == APPROVED, 1), else_=0)))
        .join(Case, Case.item_id == ServiceItem.id).join(Department, Department.id == ServiceItem.department_id)
        .where(done).group_by(ServiceItem.id, ServiceItem.code, ServiceItem.name, Department.code, Department.name)
        .order_by(ServiceItem.code)).all()
    ratings = dict(session.execute(select(Rating.item_id, func.avg(Rating.level)).group_by(Rating.item_id)).all())
    bad = dict(session.execute(select(Rating.item_id, func.count()).where(Rating.level <= BAD).group_by(Rating.item_id)).all())
    materials = _material_counts(session, done)
    items = [{"item": r[1], "name": r[2], "department": r[3], "department_name": r[4], "cases": r[5],
              "on_time": round((r[6] or 0) / r[5], 4) if r[5] else None,
              "working_days": round(float(r[7]), 2) if r[7] is not None else None,
              "visits": round(float(r[8]), 2) if r[8] is not None else None,
              "automatic": round((r[9] or 0) / r[5], 4) if r[5] else None, "approved": r[10] or 0,
              "materials_supplied": materials.get(r[0], (0, 0))[0], "materials_brought": materials.get(r[0], (0, 0))[1],
              "rating": round(float(ratings[r[0]]), 2) if r[0] in ratings else None, "bad_ratings": bad.get(r[0], 0)}
             for r in rows]
    return {"items": items, "departments": _by_department(items), "windows": _by_window(session)}


def _by_department(items: list[dict]) -> list[dict]:
    out: dict[str, dict] = {}
    for i in items:
        d = out.setdefault(i["department"], {"department": i["department"], "department_name": i["department_name"],
                                              "cases": 0, "on_time_cases": 0.0, "days": 0.0, "automatic_cases": 0.0,
                                              "materials_supplied": 0, "materials_brought": 0, "bad_ratings": 0})
        d["cases"] += i["cases"]
        d["on_time_cases"] += (i["on_time"] or 0) * i["cases"]
        d["days"] += (i["working_days"] or 0) * i["cases"]
        d["automatic_cases"] += (i["automatic"] or 0) * i["cases"]
        for k in ("materials_supplied", "materials_brought", "bad_ratings"):
            d[k] += i[k]
    for d in out.values():
        n = d["cases"] or 1
        d["on_time"] = round(d.pop("on_time_cases") / n, 4)
        d["working_days"] = round(d.pop("days") / n, 2)
        d["automatic"] = round(d.pop("automatic_cases") / n, 4)
    return sorted(out.values(), key=lambda d: d["department"])


def _by_window(session: Session) -> list[dict]:
    rows = session.execute(select(Rating.window, func.count(), func.avg(Rating.level)).group_by(Rating.window)).all()
    return [{"window": w or "-", "ratings": n, "rating": round(float(avg), 2)} for w, n, avg in rows]
