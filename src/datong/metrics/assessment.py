"""The departments' assessment (考核) per month or quarter.

Each indicator is measured per department from the tables where the work is recorded, scored 0–100
against the bureau's target, and weighted into a total; departments are ranked by it. An
indicator that does not apply to a department (no service items, no shared resource) is left
out of its total and the other weights count in proportion. Periods are calendar months
(``2026-11``) or quarters (``2026-Q4``), in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datong.catalog.models import Resource
from datong.db.base import utcnow
from datong.errors import InvalidInput
from datong.i18n import N_, Term
from datong.metrics.models import AssessmentIndicator
from datong.quality.models import QualityIssue, QualityScore
from datong.security.audit import append_event
from datong.security.authz import Actor, Target, authorize, service
from datong.security.models import AuditEvent, Department
from datong.services.ratings import measures
from datong.sharing.models import ShareRequest
from datong.store.models import COMMITTED, Load


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    weight: float  # the default; the bureau may change it
    target: float
    higher_is_better: bool = True
    unit: str = "share"  # share (0–1), hours, count, rating (1–5)


INDICATORS = [
    Indicator("attachment", N_("catalogue attachment (目录挂接率)"), 15, 1.0),
    Indicator("timeliness", N_("update timeliness (更新及时率)"), 15, 0.95),
    Indicator("quality", N_("data quality score"), 15, 0.9),
    Indicator("rectification", N_("rectification on time (整改完成率)"), 15, 0.9),
    Indicator("turnaround", N_("request turnaround"), 10, 72.0, higher_is_better=False, unit="hours"),
    Indicator("calls", N_("calls served"), 10, 1000.0, unit="count"),
    Indicator("on_time", N_("one window on time"), 10, 0.95),
    Indicator("materials", N_("materials the hub supplied"), 5, 0.5),
    Indicator("rating", N_("好差评 rating"), 5, 4.5, unit="rating"),
]
BY_KEY = {i.key: i for i in INDICATORS}
READ_ACTIONS = ("share.read", "share.export")


@dataclass(frozen=True)
class Period:
    key: str
    start: date
    end: date  # exclusive

    @property
    def starts(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def ends(self) -> datetime:
        return datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC)

    def previous(self) -> Period:
        return period((self.start - timedelta(days=1)).strftime("%Y-%m") if "Q" not in self.key
                      else _quarter_key(self.start - timedelta(days=1)))


def _quarter_key(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def period(key: str | None = None, *, quarter: bool = False) -> Period:
    """``2026-11``, ``2026-Q4``, or (None) the last complete month or quarter."""
    if key is None:
        first = date.today().replace(day=1)
        last = first - timedelta(days=1)
        key = _quarter_key(date(first.year, ((first.month - 1) // 3) * 3 + 1, 1) - timedelta(days=1)) if quarter \
            else last.strftime("%Y-%m")
    match = re.fullmatch(r"(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))", key.strip())
    if not match:
        raise InvalidInput(field="period", reason=Term(N_("write a month as 2026-11 or a quarter as 2026-Q4")))
    year = int(match.group(1))
    if match.group(2):
        month = int(match.group(2))
        start, months = date(year, month, 1), 1
    else:
        start, months = date(year, (int(match.group(3)) - 1) * 3 + 1, 1), 3
    month_after = start.month - 1 + months
    end = date(year + month_after // 12, month_after % 12 + 1, 1)
    return Period(key.strip(), start, end)


@dataclass
class DepartmentResult:
    code: str
    name: str
    values: dict[str, float | None] = field(default_factory=dict)
    points: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    rank: int = 0


def settings(session: Session) -> dict[str, tuple[float, float]]:
    """Each indicator's (weight, target): the bureau's, else the default."""
    chosen = {row.key: (row.weight, row.target) for row in session.scalars(select(AssessmentIndicator))}
    return {i.key: chosen.get(i.key, (i.weight, i.target)) for i in INDICATORS}


@service(mutates=True)
def configure(session: Session, actor: Actor, *, key: str, weight: float, target: float) -> AssessmentIndicator:
    authorize(actor, "assessment.configure", Target("assessment_indicator", key))
    if key not in BY_KEY:
        raise InvalidInput(field="key", reason=Term(N_("no such indicator")))
    if weight < 0 or target <= 0:
        raise InvalidInput(field="weight", reason=Term(N_("a weight is 0 or more and a target more than 0")))
    row = session.get(AssessmentIndicator, key) or AssessmentIndicator(key=key)
    row.weight, row.target, row.updated_by, row.updated_at = weight, target, actor.name, utcnow()
    session.add(row)
    append_event(session, actor=actor, action="assessment.configure", target=f"assessment_indicator:{key}",
                 detail={"weight": weight, "target": target})
    return row


def _resources(session: Session, at: Period) -> pl.DataFrame:
    rows = session.execute(select(Resource.id, Resource.provider_id, Resource.update_cycle, Resource.created_at)
                           .where(Resource.created_at < at.ends,
                                  (Resource.withdrawn_at.is_(None)) | (Resource.withdrawn_at >= at.ends))).all()
    return pl.DataFrame([tuple(r) for r in rows], schema={"resource": pl.Int64, "provider": pl.Int64,
                                                           "cycle": pl.Utf8, "created": pl.Datetime("us", "UTC")},
                        orient="row")


def _window(column: pl.Expr, cycle: pl.Expr) -> pl.Expr:
    """The update-cycle window a day falls in: the day, its ISO week, month, quarter or year."""
    return (pl.when(cycle.is_in(["daily", "realtime"])).then(column.dt.strftime("%Y-%m-%d"))
            .when(cycle == "weekly").then(column.dt.strftime("%G-W%V"))
            .when(cycle == "monthly").then(column.dt.strftime("%Y-%m"))
            .when(cycle == "quarterly").then(column.dt.year().cast(pl.Utf8) + "-Q" + column.dt.quarter().cast(pl.Utf8))
            .otherwise(column.dt.year().cast(pl.Utf8)))


def _timeliness(session: Session, at: Period, resources: pl.DataFrame) -> pl.DataFrame:
    """Per resource: the update-cycle windows the period touches (from its registration on), and
    how many had a committed load (any time in the window up to the period's end)."""
    year_start = datetime(at.start.year, 1, 1, tzinfo=UTC)
    loads = session.execute(select(Load.resource_id, Load.finished_at).where(
        Load.status == COMMITTED, Load.finished_at >= year_start, Load.finished_at < at.ends)).all()
    loaded = pl.DataFrame([tuple(r) for r in loads], schema={"resource": pl.Int64, "at": pl.Datetime("us", "UTC")},
                          orient="row")
    last = min(at.end - timedelta(days=1), datetime.now(UTC).date())  # a period still running: up to today
    if last < at.start:
        return pl.DataFrame(schema={"resource": pl.Int64, "provider": pl.Int64, "windows": pl.UInt32, "met": pl.UInt32})
    days = pl.DataFrame({"day": pl.date_range(at.start, last, eager=True)})
    expected = (resources.join(days, how="cross").filter(pl.col("day") >= pl.col("created").dt.date())
                .with_columns(window=_window(pl.col("day"), pl.col("cycle")))
                .select("resource", "provider", "window").unique())
    met = (loaded.join(resources.select("resource", "cycle"), on="resource")
           .with_columns(window=_window(pl.col("at").dt.date(), pl.col("cycle"))).select("resource", "window").unique()
           .with_columns(met=pl.lit(True)))
    return (expected.join(met, on=["resource", "window"], how="left")
            .group_by("resource", "provider").agg(windows=pl.len(), met=pl.col("met").fill_null(False).sum()))


def _per_provider(rows) -> dict[int, float]:
    return {provider: float(value) for provider, value in rows if value is not None}


def _measure(session: Session, actor: Actor, at: Period) -> dict[int, dict[str, float | None]]:
    """Each department's value of each indicator in the period (None: does not apply)."""
    resources = _resources(session, at)
    values: dict[int, dict[str, float | None]] = {}

    def put(key: str, found: dict[int, float]) -> None:
        for provider, value in found.items():
            values.setdefault(provider, {})[key] = value

    if resources.height:
        loaded = set(session.scalars(select(Load.resource_id).where(Load.status == COMMITTED, Load.finished_at < at.ends)))
        attached = resources.with_columns(attached=pl.col("resource").is_in(list(loaded)))
        put("attachment", dict(attached.group_by("provider").agg(pl.col("attached").mean()).iter_rows()))
        timely = _timeliness(session, at, resources).group_by("provider").agg(
            (pl.col("met").sum() / pl.col("windows").sum()).alias("share"))
        put("timeliness", dict(timely.iter_rows()))
    latest = (select(QualityScore.resource_id, func.max(QualityScore.id).label("id"))
              .where(QualityScore.computed_at < at.ends).group_by(QualityScore.resource_id).subquery())
    put("quality", _per_provider(session.execute(
        select(Resource.provider_id, func.avg(QualityScore.overall)).join(latest, latest.c.id == QualityScore.id)
        .join(Resource, Resource.id == QualityScore.resource_id).group_by(Resource.provider_id))))
    due = session.execute(select(QualityIssue.department_id, QualityIssue.deadline, QualityIssue.closed_at).where(
        QualityIssue.deadline >= at.start, QualityIssue.deadline < at.end)).all()
    by_department: dict[int, list[bool]] = {}
    for department_id, deadline, closed_at in due:
        by_department.setdefault(department_id, []).append(closed_at is not None and closed_at.date() <= deadline)
    put("rectification", {d: sum(done) / len(done) for d, done in by_department.items()})
    decided = session.execute(select(Resource.provider_id, ShareRequest.requested_at, ShareRequest.decided_at)
                              .join(Resource, Resource.id == ShareRequest.resource_id)
                              .where(ShareRequest.decided_at >= at.starts, ShareRequest.decided_at < at.ends)).all()
    hours: dict[int, list[float]] = {}
    for provider, created, decided_at in decided:
        hours.setdefault(provider, []).append((decided_at - created).total_seconds() / 3600)
    put("turnaround", {p: sum(h) / len(h) for p, h in hours.items()})
    codes = dict(session.execute(select(Resource.code, Resource.provider_id)).all())
    calls: dict[int, float] = {}
    for target, count in session.execute(
            select(AuditEvent.target, func.count()).where(AuditEvent.action.in_(READ_ACTIONS),
                                                         AuditEvent.occurred_at >= at.starts,
                                                         AuditEvent.occurred_at < at.ends,
                                                         AuditEvent.outcome == "success")
            .group_by(AuditEvent.target)):
        provider = codes.get((target or "").removeprefix("resource:"))
        if provider is not None:
            calls[provider] = calls.get(provider, 0) + count
    providers = set(resources["provider"].to_list()) if resources.height else set()
    put("calls", {p: float(calls.get(p, 0)) for p in providers})
    department_ids = dict(session.execute(select(Department.code, Department.id)).all())
    window = measures(session, actor, since=at.start, until=at.end - timedelta(days=1))
    rated: dict[str, list[tuple[float, int]]] = {}
    for item in window["items"]:
        if item["rating"] is not None:
            rated.setdefault(item["department"], []).append((item["rating"], item["cases"]))
    for row in window["departments"]:
        department_id = department_ids.get(row["department"])
        if department_id is None or not row["cases"]:
            continue
        mine = values.setdefault(department_id, {})
        mine["on_time"] = row["on_time"]
        supplied, brought = row["materials_supplied"], row["materials_brought"]
        mine["materials"] = supplied / (supplied + brought) if supplied + brought else None
        if rated.get(row["department"]):
            pairs = rated[row["department"]]
            mine["rating"] = sum(r * n for r, n in pairs) / (sum(n for _, n in pairs) or 1)
    return values


def points(indicator: Indicator, value: float, target: float) -> float:
    """0–100: the share of the target reached (for "lower is better", of the value the target allows)."""
    if indicator.higher_is_better:
        return round(min(value / target, 1.0) * 100, 1)
    return 100.0 if value <= 0 else round(min(target / value, 1.0) * 100, 1)


@service(mutates=False)
def assess(session: Session, actor: Actor, *, at: Period) -> list[DepartmentResult]:
    """Every department with something to assess, scored and ranked."""
    authorize(actor, "assessment.read", Target("assessment", at.key))
    chosen = settings(session)
    measured = _measure(session, actor, at)
    departments = {d.id: d for d in session.scalars(select(Department))}
    results = []
    for department_id, values in measured.items():
        department = departments.get(department_id)
        if department is None:
            continue
        result = DepartmentResult(department.code, department.name)
        weights = 0.0
        for indicator in INDICATORS:
            value = values.get(indicator.key)
            result.values[indicator.key] = round(value, 4) if value is not None else None
            if value is None:
                continue
            weight, target = chosen[indicator.key]
            result.points[indicator.key] = points(indicator, value, target)
            result.total += result.points[indicator.key] * weight
            weights += weight
        result.total = round(result.total / weights, 1) if weights else 0.0
        results.append(result)
    results.sort(key=lambda r: (-r.total, r.code))
    for rank, result in enumerate(results, 1):
        result.rank = rank
    return results


@service(mutates=False)
def trend(session: Session, actor: Actor, *, at: Period, periods: int = 6) -> dict:
    """Each department's total over the last ``periods`` periods, oldest first."""
    authorize(actor, "assessment.read", Target("assessment", at.key))
    keys, current = [], at
    for _ in range(periods):
        keys.append(current)
        current = current.previous()
    keys.reverse()
    series: dict[str, list[float | None]] = {}
    names: dict[str, str] = {}
    for n, each in enumerate(keys):
        for result in assess(session, actor, at=each):
            names[result.code] = result.name
            series.setdefault(result.code, [None] * len(keys))[n] = result.total
    return {"periods": [k.key for k in keys], "departments": [{"code": c, "name": names[c], "totals": t}
                                                                for c, t in sorted(series.items())]}


@service(mutates=False)
def drill_down(session: Session, actor: Actor, *, department: str, at: Period) -> dict:
    """What is behind a department's figures: resources never loaded, update windows missed,
    issues due in the period and not closed on time, the slowest requests."""
    authorize(actor, "assessment.read", Target("assessment", at.key))
    dept = session.scalar(select(Department).where(Department.code == department))
    if dept is None:
        from datong.security.service import get_department

        get_department(session, department)  # the NotFound a missing department gets everywhere
    resources = _resources(session, at).filter(pl.col("provider") == dept.id)
    loaded = set(session.scalars(select(Load.resource_id).where(Load.status == COMMITTED, Load.finished_at < at.ends)))
    names = dict(session.execute(select(Resource.id, Resource.code)).all())
    titles = dict(session.execute(select(Resource.id, Resource.name)).all())
    missed = []
    if resources.height:
        for resource, _provider, windows, met in _timeliness(session, at, resources).sort("resource").iter_rows():
            if met < windows:
                missed.append({"resource": names[resource], "name": titles[resource], "windows": windows, "met": met})
    issues = session.scalars(select(QualityIssue).where(QualityIssue.department_id == dept.id,
                                                        QualityIssue.deadline >= at.start, QualityIssue.deadline < at.end)
                             .order_by(QualityIssue.deadline)).all()
    late = [{"id": i.id, "resource": i.resource.code, "rule": i.rule, "deadline": i.deadline.isoformat(),
             "closed_at": i.closed_at.isoformat() if i.closed_at else None}
            for i in issues if i.closed_at is None or i.closed_at.date() > i.deadline]
    slow = session.execute(select(ShareRequest.id, Resource.code, ShareRequest.requested_at, ShareRequest.decided_at)
                           .join(Resource, Resource.id == ShareRequest.resource_id)
                           .where(Resource.provider_id == dept.id, ShareRequest.decided_at >= at.starts,
                                  ShareRequest.decided_at < at.ends)).all()
    slowest = sorted(({"request": r[0], "resource": r[1], "hours": round((r[3] - r[2]).total_seconds() / 3600, 1)}
                      for r in slow), key=lambda r: -r["hours"])[:20]
    return {"department": dept.code, "name": dept.name, "period": at.key,
            "not_attached": [{"resource": names[r], "name": titles[r]} for r in resources["resource"].to_list()
                             if r not in loaded],
            "missed_updates": missed, "issues_not_closed_on_time": late, "slowest_requests": slowest}
