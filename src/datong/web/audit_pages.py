"""The auditor's pages: the log in people's words, filtered, one event in full, and exports."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from openpyxl import Workbook

from datong.api.deps import MAX_ID, IdPath
from datong.catalog.service import get_resource
from datong.errors import NotFound
from datong.i18n import N_, translate
from datong.security import audit, service
from datong.untrusted import csv_for_spreadsheets, fill_sheet
from datong.web.pages import ConsoleActor, Csrf, render
from datong.web.render import console_locale, local_time

router = APIRouter(include_in_schema=False)
PAGE = 50
OUTCOME_LABELS = {"success": N_("success"), "denied": N_("denied"), "failure": N_("failure")}
COLUMNS = (N_("#"), N_("Time"), N_("Actor"), N_("Department"), N_("Action"), N_("Target"), N_("Data subjects"),
           N_("Purpose"), N_("Case number"), N_("Outcome"), N_("Detail"), N_("Hash"))


class Names:
    """Accounts, systems, departments and resources by the names people know them by. Built from
    the auditor's own listings (auditors may list accounts and systems)."""

    def __init__(self, session, actor, events) -> None:
        self.departments = {d.code: d.name for d in service.list_departments(session, actor)}
        self.actors = {u.username: u.display_name for u in service.list_users(session, actor)}
        self.actors.update((c.client_id, c.name) for c in service.list_clients(session, actor))
        self.resources = {}
        for code in {e.target.removeprefix("resource:") for e in events if (e.target or "").startswith("resource:")}:
            try:
                self.resources[code] = get_resource(session, code).name
            except NotFound:
                self.resources[code] = code

    def actor(self, name: str) -> str:
        shown = self.actors.get(name)
        return f"{shown} ({name})" if shown else name

    def department(self, code: str | None) -> str:
        return self.departments.get(code or "", code or "")

    def target(self, target: str | None) -> str:
        if target and target.startswith("resource:"):
            code = target.removeprefix("resource:")
            return f"{self.resources.get(code, code)} ({code})"
        return target or ""


def _filters(by_actor: str, action: str, subject: str, department: str, outcome: str, since: date | None,
             until: date | None, zone: ZoneInfo) -> dict:
    """The form's filters for the service; dates are whole local days."""
    def day(value: date | None) -> datetime | None:
        return datetime.combine(value, time.min, zone) if value else None

    return {"by_actor": by_actor.strip() or None, "action": action.strip() or None,
            "subject": subject.strip().upper() or None, "department": department.strip() or None,
            "outcome": outcome if outcome in audit.OUTCOMES else None, "since": day(since),
            "until": day(until + timedelta(days=1)) if until else None}


def _day(text: str) -> date | None:
    """A date field of the filter form: empty (or not a date) means no bound."""
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


@router.get("/audit")
def audit_log(request: Request, actor: ConsoleActor, by_actor: str = "", action: str = "", subject: str = "",
              department: str = "", outcome: str = "", since: str = "", until: str = "",
              before_seq: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None, report=None):
    zone = ZoneInfo(request.app.state.settings.timezone)
    filters = _filters(by_actor, action, subject, department, outcome, _day(since), _day(until), zone)
    with request.app.state.database.reading() as session:
        events = audit.list_audit_events(session, actor, limit=PAGE, before_seq=before_seq, **filters)
        names = Names(session, actor, events)
        query = {"by_actor": by_actor, "action": action, "subject": subject, "department": department,
                 "outcome": outcome, "since": _day(since) or "", "until": _day(until) or ""}
        return render(request, "audit.html", events=events, query=query, names=names, report=report,
                      actions=audit.ACTION_LABELS, outcomes=OUTCOME_LABELS,
                      next_before=events[-1].seq if len(events) == PAGE else None)


@router.post("/audit/verify", dependencies=[Csrf])
def audit_verify(request: Request, actor: ConsoleActor):
    with request.app.state.database.reading() as session:
        report = audit.verify_audit_chain(session, actor)
    return audit_log(request, actor, report=report)


@router.get("/audit/events/{seq}")
def audit_event(request: Request, actor: ConsoleActor, seq: IdPath):
    with request.app.state.database.reading() as session:
        event = audit.get_audit_event(session, actor, seq=seq)
        return render(request, "audit_event.html", e=event, names=Names(session, actor, [event]),
                      actions=audit.ACTION_LABELS, outcomes=OUTCOME_LABELS,
                      detail=json.dumps(event.detail, ensure_ascii=False, indent=2, sort_keys=True))


@router.get("/audit/export.{fmt}")
def audit_export(request: Request, actor: ConsoleActor, fmt: str, by_actor: str = "", action: str = "",
                 subject: str = "", department: str = "", outcome: str = "", since: str = "", until: str = ""):
    """The filtered log (up to 100,000 events) as xlsx or CSV, in the reader's language and time
    zone, for inspectors; the export is itself in the log."""
    if fmt not in ("xlsx", "csv"):
        return Response(status_code=404)
    zone, locale = ZoneInfo(request.app.state.settings.timezone), console_locale(request)
    filters = _filters(by_actor, action, subject, department, outcome, _day(since), _day(until), zone)
    with request.app.state.database.reading() as session:
        events = audit.list_audit_events(session, actor, limit=100_000, export=fmt, **filters)
        names = Names(session, actor, events)
        rows = [[e.seq, local_time(e.occurred_at, zone, "%Y-%m-%d %H:%M:%S"), names.actor(e.actor),
                 names.department(e.actor_department),
                 translate(locale, audit.ACTION_LABELS[e.action]) if e.action in audit.ACTION_LABELS else e.action,
                 names.target(e.target), "、".join(e.subjects or []), e.purpose or "", e.case_number or "",
                 translate(locale, OUTCOME_LABELS.get(e.outcome, e.outcome)),
                 json.dumps(e.detail, ensure_ascii=False, sort_keys=True), e.hash] for e in events]
    header = [translate(locale, c) for c in COLUMNS]
    header[1] = f"{header[1]} ({request.app.state.settings.timezone})"
    content = csv_for_spreadsheets(header, rows) if fmt == "csv" else _xlsx(header, rows, translate(locale, N_("Audit log")))
    media = "text/csv; charset=utf-8" if fmt == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''audit-log.{fmt}"})


def _xlsx(header: list[str], rows: list[list], title: str) -> bytes:
    book = Workbook()
    book.active.title = title[:31]
    fill_sheet(book.active, header, rows)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
