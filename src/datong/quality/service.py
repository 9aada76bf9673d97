"""Scores and the rectification loop (整改): issues addressed to the provider until fixed.

An issue is one rule failing on one resource. Its states:
``open`` → ``rectifying`` (the provider is fixing it) → ``rechecking`` (the provider says it is
fixed; the next load will tell) → ``closed``. A load without failures of the rule closes it; a
load with failures sends ``rechecking`` back to ``rectifying`` and reopens a closed issue
(``reopened``). The bureau may close an issue with a reason, or reopen one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import duckdb
import polars as pl
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from datong.catalog.models import Resource
from datong.catalog.service import get_resource
from datong.db.base import utcnow
from datong.db.paging import Found, Window, containing, window
from datong.errors import InvalidInput, NotFound
from datong.i18n import N_, Term
from datong.quality.models import QualityIssue, QualityRule, QualityScore
from datong.quality.rules import REJECT, Check, Declared
from datong.security import masking
from datong.security.audit import append_event, record_read
from datong.security.authz import Actor, Target, authorize, is_allowed, service
from datong.security.models import Department
from datong.security.roles import Role

OPEN, RECTIFYING, RECHECKING, CLOSED, REOPENED = "open", "rectifying", "rechecking", "closed", "reopened"
STATES = (OPEN, RECTIFYING, RECHECKING, CLOSED, REOPENED)
ISSUE = Term(N_("Quality issue"))
DIMENSIONS = ("completeness", "validity", "uniqueness", "consistency", "timeliness")
DIMENSION_LABELS = {"completeness": N_("completeness"), "validity": N_("validity"), "uniqueness": N_("uniqueness"),
                    "consistency": N_("consistency"), "timeliness": N_("timeliness"), "overall": N_("overall")}
STATE_LABELS = {OPEN: N_("awaiting rectification"), RECTIFYING: N_("rectifying"), RECHECKING: N_("rechecking"), CLOSED: N_("closed"),
                REOPENED: N_("reopened")}
CYCLE_DAYS = {"realtime": 1, "daily": 2, "weekly": 8, "monthly": 32, "quarterly": 93, "yearly": 367}
SAMPLES = 5
#: (from, to) → who may move an issue that way: the provider ("rectify") or the bureau ("review").
TRANSITIONS = {
    (OPEN, RECTIFYING): "issue.rectify", (REOPENED, RECTIFYING): "issue.rectify",
    (RECTIFYING, RECHECKING): "issue.rectify",
    (OPEN, CLOSED): "issue.review", (REOPENED, CLOSED): "issue.review", (RECTIFYING, CLOSED): "issue.review",
    (RECHECKING, CLOSED): "issue.review", (CLOSED, REOPENED): "issue.review",
}


def _check_meta(con: duckdb.DuckDBPyConnection, checks: list[Check]) -> None:
    frame = pl.DataFrame({"check_no": list(range(len(checks))), "code": [c.code for c in checks],
                          "kind": [c.kind for c in checks], "item": [c.item for c in checks],
                          "severity": [c.severity for c in checks], "dimension": [c.dimension for c in checks]},
                         schema={"check_no": pl.Int32, "code": pl.Utf8, "kind": pl.Utf8, "item": pl.Utf8,
                                 "severity": pl.Utf8, "dimension": pl.Utf8})
    con.register("check_frame", frame)
    con.execute("CREATE OR REPLACE TABLE check_meta AS SELECT * FROM check_frame")
    con.unregister("check_frame")


def scores(con: duckdb.DuckDBPyConnection, item_count: int) -> dict[str, float]:
    """Completeness: filled cells; validity, uniqueness, consistency: rows passing the rules of
    that dimension. Timeliness is 1 on a load (the data has just arrived)."""
    rows = con.execute("SELECT count(*) FROM staged").fetchone()[0]
    if rows == 0:
        return {d: 1.0 for d in DIMENSIONS} | {"rows": 0, "overall": 1.0}
    filled = " + ".join(f'count("i{n}")' for n in range(item_count)) or "0"
    completeness = con.execute(f"SELECT ({filled}) / (count(*) * {max(item_count, 1)}) FROM staged").fetchone()[0]
    failing = dict(con.execute("SELECT m.dimension, count(DISTINCT p.__row) FROM problems p "
                               "JOIN check_meta m USING (check_no) GROUP BY 1").fetchall())
    result = {"rows": rows, "completeness": float(completeness), "timeliness": 1.0}
    for dimension in ("validity", "uniqueness", "consistency"):
        result[dimension] = 1 - failing.get(dimension, 0) / rows
    result["completeness"] = min(result["completeness"], 1 - failing.get("completeness", 0) / rows)
    result["overall"] = sum(result[d] for d in DIMENSIONS) / len(DIMENSIONS)
    return result


def record_load(session: Session, con: duckdb.DuckDBPyConnection, writer, plan, checks: list[Check],
                load_id: int | None, timeliness: float = 1.0) -> QualityScore:
    """Keep a load's problems, its scores and the issues they open or close."""
    _check_meta(con, checks)
    if writer is not None:
        writer.problems(con, "SELECT p.__row, m.item, left(p.value, 200), m.code, m.kind, p.reason, "
                             "left(p.detail, 200), m.severity FROM problems p JOIN check_meta m USING (check_no) "
                             "ORDER BY p.__row, p.check_no")
    result = scores(con, len(plan.items))
    result["timeliness"] = timeliness
    result["overall"] = sum(result[d] for d in DIMENSIONS) / len(DIMENSIONS)
    score = QualityScore(resource_id=plan.resource_id, load_id=load_id, rows=result["rows"],
                         **{d: result[d] for d in (*DIMENSIONS, "overall")})
    session.add(score)
    failures = con.execute("""
        SELECT m.code, m.kind, m.item, m.severity, count(DISTINCT p.__row),
               list({'row': p.__row, 'value': p.value, 'reason': p.reason, 'detail': p.detail}
                    ORDER BY p.__row)[1:5]
        FROM problems p JOIN check_meta m USING (check_no) GROUP BY ALL""").fetchall()
    _update_issues(session, plan, {f[0]: f for f in failures}, load_id)
    return score


def _note(issue: QualityIssue, to: str, by: str, note: str) -> None:
    issue.history = [*issue.history, {"at": utcnow().isoformat(timespec="seconds"), "by": by, "from": issue.state,
                                      "to": to, "note": note}]
    issue.state, issue.updated_at = to, utcnow()
    if to == CLOSED:
        issue.closed_at = utcnow()


#: For a higher domain that keeps issues of its own kind (the registries' disagreements).
note_issue = _note


def _with_source(plan, kind: str, item: str, samples) -> list[dict]:
    """Samples of a cross-source check carry another department's value in ``detail``: they say
    which resource and item it came from, so that a reader's right to see it can be judged."""
    rows = [dict(s) for s in samples]
    if kind != "cross_source":
        return rows
    index = next((c.index for c in plan.items if c.name == item), None)
    lookup = next((lk for lk in plan.lookups if lk.item_index == index), None)
    if lookup is None:
        return rows
    return [{**row, "source": lookup.resource, "source_item": lookup.value_name} for row in rows]


#: Hooks a higher domain adds to say whether an actor may read an item of another department's
#: resource, and how: "plain", "masked" or None (sharing adds the grant check; quality cannot import it).
SOURCE_READERS: list[Callable[[Session, Actor, str, str], str | None]] = []


def _source_access(session: Session, actor: Actor, resource: Resource, item: str) -> str | None:
    if actor.kind == "system" or actor.department_id == resource.provider_id:
        return "plain"  # the source department's own data
    if actor.has(Role.BUREAU_ADMIN, Role.AUDITOR):
        return "masked"
    answers = [hook(session, actor, resource.code, item) for hook in SOURCE_READERS]
    return "plain" if "plain" in answers else "masked" if "masked" in answers else None


def _shown(session: Session, actor: Actor, sample: dict, cache: dict) -> dict:
    if "source" not in sample:
        return sample
    key = (sample["source"], sample.get("source_item"))
    if key not in cache:
        resource = session.scalar(select(Resource).where(Resource.code == sample["source"]))
        item = next((i for i in resource.items if i.name == sample.get("source_item")), None) if resource else None
        access = _source_access(session, actor, resource, item.name) if item else None
        policy = None if access != "masked" else masking.policy_for(
            item.element.identifier if item.element else None, item.sensitivity, session.info.get("masking"))
        cache[key] = (access, policy)
    access, policy = cache[key]
    if access is None:
        return {k: v for k, v in sample.items() if k != "detail"} | {"withheld": True}
    value, _, department = (sample.get("detail") or "").rpartition(" (")
    return sample | {"detail": f"{masking.mask(value, policy)} ({department}" if department else sample["detail"]}


@service(mutates=False, personal=True)
def shown_samples(session: Session, actor: Actor, issues: list[QualityIssue]) -> dict[int, list[dict]]:
    """Each issue's samples as this actor may see them: another department's values only for those
    allowed to read them (its own staff, the bureau and auditors masked, holders of a grant on it
    as their grant says), masked by the sharing policy. Showing values is a read of personal data,
    audited once for the issues shown."""
    for issue in issues:
        authorize(actor, "issue.read", Target("issue", str(issue.id), issue.department_id))
    if not issues:
        authorize(actor, "issue.read", Target("issues", department_id=actor.department_id))
    cache: dict = {}
    shown = {issue.id: [_shown(session, actor, s, cache) for s in issue.samples or []] for issue in issues}
    with_values = sorted(i for i, samples in shown.items() if samples)
    if with_values:
        record_read(session, actor=actor, action="quality.samples", target="quality:issues",
                    purpose="数据质量整改", detail={"issues": with_values[:200],
                                                 "withheld": sum(s.get("withheld", False) for v in shown.values()
                                                                 for s in v)})
    return shown


def _update_issues(session: Session, plan, failures: dict[str, tuple], load_id: int | None) -> None:
    existing = {i.rule: i for i in session.scalars(select(QualityIssue).where(QualityIssue.resource_id == plan.resource_id))}
    deadline = date.today() + timedelta(days=int(session.info.get("issue_deadline_days", 15)))
    by = f"load #{load_id}" if load_id else "quality run"
    for code, (_, kind, item, severity, count, samples) in failures.items():
        issue = existing.get(code)
        if issue is None:
            issue = QualityIssue(resource_id=plan.resource_id, department_id=plan.provider_id, rule=code, item=item,
                                 kind=kind, severity=severity, state=OPEN, deadline=deadline, history=[])
            session.add(issue)
            issue.history = [{"at": utcnow().isoformat(timespec="seconds"), "by": by, "from": None, "to": OPEN,
                              "note": f"{count}"}]
        elif issue.state == CLOSED:
            _note(issue, REOPENED, by, f"{count}")
            issue.deadline, issue.closed_at = deadline, None
        elif issue.state == RECHECKING:
            _note(issue, RECTIFYING, by, f"{count}")
        issue.failing, issue.samples, issue.last_load_id = count, _with_source(plan, kind, item, samples), load_id
        issue.severity, issue.updated_at = severity, utcnow()
    for code, issue in existing.items():
        if code not in failures and issue.state != CLOSED and issue.kind not in ("timeliness", "registry"):
            issue.failing, issue.samples, issue.last_load_id = 0, [], load_id
            _note(issue, CLOSED, by, "0")


def check_timeliness(session: Session, resource: Resource, last_load_at: datetime | None, plan) -> float:
    """1 when the last load is within the promised update cycle, else 0 and an issue."""
    limit = timedelta(days=CYCLE_DAYS.get(resource.update_cycle, 32))
    stale = last_load_at is None or datetime.now(UTC) - last_load_at > limit
    failures = {}
    if stale:
        when = last_load_at.date().isoformat() if last_load_at else "—"
        failures["timeliness"] = ("timeliness", "timeliness", None, "warn", 1,
                                  [{"row": None, "value": None, "reason": "stale", "detail": when}])
    issue = session.scalar(select(QualityIssue).where(QualityIssue.resource_id == resource.id,
                                                      QualityIssue.rule == "timeliness"))
    if failures:
        _update_issues(session, plan, failures, None)
    elif issue is not None and issue.state != CLOSED:
        _note(issue, CLOSED, "quality run", "0")
    return 0.0 if stale else 1.0


# --- reading and working on issues ---------------------------------------------------------------


@service(mutates=True)
def begin_run(session: Session, actor: Actor, *, resource_code: str) -> Resource:
    resource = get_resource(session, resource_code)
    authorize(actor, "quality.run", Target("resource", resource.code, resource.provider_id))
    return resource


def _issue_scope(actor: Actor) -> int | None:
    """The department whose issues the actor sees; None: all (the bureau, auditors)."""
    return None if is_allowed(actor, "issue.read", Target("issues", department_id=-1)) else actor.department_id


@service(mutates=False)
def list_issues(session: Session, actor: Actor, *, department_code: str | None = None, state: str | None = None,
                resource_code: str | None = None, q: str | None = None,
                page: Window | None = None) -> Found[QualityIssue]:
    scope = _issue_scope(actor)
    authorize(actor, "issue.read", Target("issues", department_id=scope if scope is not None else -1))
    stmt = select(QualityIssue).order_by(QualityIssue.state == CLOSED, QualityIssue.deadline, QualityIssue.id)
    if scope is not None:
        stmt = stmt.where(QualityIssue.department_id == scope)
    if department_code:
        stmt = stmt.join(Department, QualityIssue.department_id == Department.id).where(Department.code == department_code)
    if state:
        stmt = stmt.where(QualityIssue.state == state)
    if resource_code:
        stmt = stmt.where(QualityIssue.resource_id == get_resource(session, resource_code).id)
    if q:  # the resource's name or code, the item or the rule
        stmt = stmt.join(Resource, Resource.id == QualityIssue.resource_id).where(
            containing(q, Resource.name, Resource.code, QualityIssue.item, QualityIssue.rule))
    return window(session, stmt, page)


@service(mutates=False)
def get_issue(session: Session, actor: Actor, issue_id: int) -> QualityIssue:
    issue = session.get(QualityIssue, issue_id)
    if issue is None:
        raise NotFound(what=ISSUE, key=str(issue_id))
    authorize(actor, "issue.read", Target("issue", str(issue_id), issue.department_id))
    return issue


def open_issue_count(session: Session, *, resource_code: str) -> int:
    """How many issues of a resource are not closed (a number, no data: anyone may know it)."""
    resource = get_resource(session, resource_code)
    return session.scalar(select(func.count(QualityIssue.id)).where(QualityIssue.resource_id == resource.id,
                                                                    QualityIssue.state != CLOSED)) or 0


def overdue(issue: QualityIssue) -> bool:
    return issue.state != CLOSED and issue.deadline < date.today()


@service(mutates=True)
def transition_issue(session: Session, actor: Actor, *, issue_id: int, to: str, note: str = "") -> QualityIssue:
    issue = session.get(QualityIssue, issue_id)
    if issue is None:
        raise NotFound(what=ISSUE, key=str(issue_id))
    action = TRANSITIONS.get((issue.state, to))
    if action is None:
        authorize(actor, "issue.read", Target("issue", str(issue_id), issue.department_id))
        allowed = "、".join(t for (f, t) in TRANSITIONS if f == issue.state) or "—"
        raise InvalidInput(field="state", reason=Term(N_("this issue cannot move that way from its state")),
                           allowed=allowed)
    authorize(actor, action, Target("issue", str(issue_id), issue.department_id))
    if to == CLOSED and not note.strip():
        raise InvalidInput(field="note", reason=Term(N_("say why the issue is closed without a clean load")))
    _note(issue, to, actor.name, note.strip())
    append_event(session, actor=actor, action="issue.transition", target=Target("issue", str(issue.id)),
                 detail={"to": to, "rule": issue.rule, "resource": issue.resource.code})
    return issue


# --- scores --------------------------------------------------------------------------------------


@service(mutates=False)
def score_history(session: Session, actor: Actor, *, resource_code: str, limit: int = 30) -> list[QualityScore]:
    resource = get_resource(session, resource_code)
    authorize(actor, "quality.read", Target("resource", resource.code, resource.provider_id))
    rows = session.scalars(select(QualityScore).where(QualityScore.resource_id == resource.id)
                           .order_by(QualityScore.id.desc()).limit(limit))
    return list(reversed(list(rows)))


@service(mutates=False)
def department_scores(session: Session, actor: Actor) -> list[dict]:
    """Each provider department's average of its resources' latest scores."""
    authorize(actor, "quality.read", Target("scores"))
    latest = (select(QualityScore.resource_id, func.max(QualityScore.id).label("id"))
              .group_by(QualityScore.resource_id).subquery())
    rows = session.execute(select(Department, QualityScore).join(Resource, Resource.provider_id == Department.id)
                           .join(latest, latest.c.resource_id == Resource.id)
                           .join(QualityScore, QualityScore.id == latest.c.id)).all()
    by_department: dict[int, dict] = {}
    for department, score in rows:
        entry = by_department.setdefault(department.id, {"department": department, "resources": 0,
                                                         **{d: 0.0 for d in (*DIMENSIONS, "overall")}})
        entry["resources"] += 1
        for d in (*DIMENSIONS, "overall"):
            entry[d] += getattr(score, d)
    for entry in by_department.values():
        for d in (*DIMENSIONS, "overall"):
            entry[d] = round(entry[d] / entry["resources"], 4)
    return sorted(by_department.values(), key=lambda e: e["overall"])


@service(mutates=True)
def declare_rule(session: Session, actor: Actor, *, kind: str, severity: str = REJECT, params: dict | None = None,
                 element: str | None = None, resource_code: str | None = None, item: str | None = None) -> QualityRule:
    """Declare a rule on a data element (the bureau) or on one data item of a resource (its provider)."""
    from datong.catalog.service import get_element

    if (element is None) == (resource_code is None):
        raise InvalidInput(field="element", reason=Term(N_("give either a data element or a resource and item")))
    if kind not in ("not_null", "pattern", "length", "code_list", "date_range") or severity not in ("reject", "warn"):
        raise InvalidInput(field="kind", reason=Term(N_("unknown rule kind or severity")))
    if element is not None:
        authorize(actor, "dictionary.edit", Target("element", element))
        rule = QualityRule(element=get_element(session, element), kind=kind, severity=severity, params=params or {},
                           created_by=actor.name)
    else:
        resource = get_resource(session, resource_code)
        authorize(actor, "quality.rule", Target("resource", resource.code, resource.provider_id))
        if item not in {i.name for i in resource.items}:
            raise InvalidInput(field="item", reason=Term(N_("the resource has no such data item")))
        rule = QualityRule(resource_id=resource.id, item=item, kind=kind, severity=severity, params=params or {},
                           created_by=actor.name)
    session.add(rule)
    session.flush()
    append_event(session, actor=actor, action="quality.rule", target=Target("rule", str(rule.id)),
                 detail={"kind": kind, "severity": severity, "element": element, "resource": resource_code,
                         "item": item, "params": params or {}})
    return rule


#: Dates of events that have happened cannot be in the future (declared, so they can be changed).
PAST_EVENT_DATES = ("DE0004", "DE0014", "DE0017", "DE0020")


@service(mutates=True)
def install_standard_rules(session: Session, actor: Actor) -> int:
    from datong.catalog.models import DataElement

    authorize(actor, "dictionary.edit", Target("rules"))
    added = 0
    for identifier in PAST_EVENT_DATES:
        element = session.scalar(select(DataElement).where(DataElement.identifier == identifier))
        exists = element is not None and session.scalar(select(QualityRule.id).where(
            QualityRule.element_id == element.id, QualityRule.kind == "date_range"))
        if element is not None and not exists:
            session.add(QualityRule(element=element, kind="date_range", params={"max": "today"}, severity=REJECT,
                                    created_by=actor.name))
            added += 1
    return added


def declared_rules(session: Session, resource: Resource) -> dict[str, list[Declared]]:
    element_ids = {i.element_id for i in resource.items if i.element_id}
    rules = session.scalars(select(QualityRule).where(
        QualityRule.enabled.is_(True),
        or_(QualityRule.resource_id == resource.id, QualityRule.element_id.in_(element_ids))))
    declared: dict[str, list[Declared]] = {}
    for rule in rules:
        targets = [i.name for i in resource.items if (rule.resource_id == resource.id and rule.item == i.name)
                   or (rule.element_id is not None and i.element_id == rule.element_id)]
        for name in targets:
            declared.setdefault(name, []).append(Declared(rule.kind, rule.params or {}, rule.severity))
    return declared
