"""Load records: start, finish, fail, and read them back with their rejected rows."""

from __future__ import annotations

import io
import json
import os
import socket
from dataclasses import dataclass
from datetime import timedelta

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datong.untrusted import csv_for_spreadsheets, fill_sheet
from datong.catalog.models import Resource
from datong.catalog.service import get_resource, refuse_withdrawn
from datong.codes.credit_code import validate_credit_code
from datong.codes.id_number import validate_id_number
from datong.db.base import utcnow
from datong.db.paging import Found, Window, window
from datong.errors import Conflict, NotFound
from datong.i18n import N_, Message, Term, translate
from datong.store.models import COMMITTED, FAILED, RUNNING, Load, LoadProblem, LoadRow
from datong.ingest.sources import Source
from datong.quality.rules import KIND_LABELS, REASONS
from datong.security.audit import append_event, record_read
from datong.security.authz import Actor, Target, authorize, is_allowed, service

LOAD = Term(N_("Load"))


def holder() -> str:
    """Who runs a load: host and process, for the operator reading the loads table."""
    return f"{socket.gethostname()}:{os.getpid()}"


@service(mutates=True)
def begin_load(session: Session, actor: Actor, *, resource_code: str, source: Source, mode: str,
               lease_seconds: int = 60) -> Load:
    """Record a running load, holding a lease on the resource. A running load whose lease has run
    out belongs to a process that died: it is marked failed (nothing of it was written)."""
    resource = get_resource(session, resource_code)
    authorize(actor, "data.load", Target("resource", resource.code, resource.provider_id))
    refuse_withdrawn(resource)
    now = utcnow()
    for running in session.scalars(select(Load).where(Load.resource_id == resource.id, Load.status == RUNNING)):
        if running.lease_until is not None and running.lease_until > now and not holder_gone(running.holder):
            raise Conflict(what=LOAD, key=f"#{running.id} ({resource.code})")
        mark_dead(running, now)
    load = Load(resource=resource, actor=actor.name, actor_department=actor.department_code, source=source.label,
                source_kind=source.kind, mode=mode, encoding=source.encoding, status=RUNNING, pid=os.getpid(),
                holder=holder(), lease_until=now + timedelta(seconds=lease_seconds), phase="read")
    session.add(load)
    session.flush()
    return load


def holder_gone(name: str | None) -> bool:
    """A holder on this host whose process no longer exists is gone before its lease runs out."""
    host, _, pid = (name or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def mark_dead(load: Load, now) -> None:
    load.status, load.finished_at, load.lease_until = FAILED, now, None
    load.error = json.dumps({"zh-CN": "加载进程已中断，未写入任何数据", "en": "the load process stopped; nothing was written"},
                            ensure_ascii=False)


@service(mutates=True)
def finish_load(session: Session, actor: Actor, *, load_id: int, outcome: dict, encoding: str | None,
                snapshot: str) -> Load:
    load = session.get(Load, load_id)
    authorize(actor, "data.load", Target("resource", load.resource.code, load.resource.provider_id))
    for name, value in outcome.items():
        setattr(load, name, value)
    load.status, load.snapshot, load.finished_at = COMMITTED, snapshot, utcnow()
    load.lease_until, load.phase = None, "done"
    load.encoding = encoding or load.encoding
    load.duration_ms = int((load.finished_at - load.started_at).total_seconds() * 1000)
    load.resource.attached, load.resource.attached_at = True, load.finished_at
    append_event(session, actor=actor, action="data.load", target=Target("resource", load.resource.code),
                 detail={"load": load.id, "mode": load.mode, "source": load.source, **load.counts()})
    return load


@service(mutates=True)
def fail_load(session: Session, actor: Actor, *, load_id: int, texts: dict[str, str]) -> Load:
    load = session.get(Load, load_id)
    authorize(actor, "data.load", Target("resource", load.resource.code, load.resource.provider_id))
    load.status, load.finished_at, load.lease_until = FAILED, utcnow(), None
    load.error = json.dumps(texts, ensure_ascii=False)
    load.duration_ms = int((load.finished_at - load.started_at).total_seconds() * 1000)
    append_event(session, actor=actor, action="data.load", target=Target("resource", load.resource.code),
                 outcome="failed", detail={"load": load.id, "error": texts.get("en", "")[:500]})
    return load


def error_text(load: Load, locale: str) -> str | None:
    if not load.error:
        return None
    texts = json.loads(load.error)
    return texts.get(locale) or texts.get("en")


@service(mutates=False)
def get_load(session: Session, actor: Actor, load_id: int) -> Load:
    load = session.get(Load, load_id)
    if load is None:
        raise NotFound(what=LOAD, key=str(load_id))
    authorize(actor, "load.read", Target("load", str(load_id), load.resource.provider_id))
    return load


@service(mutates=False)
def list_loads(session: Session, actor: Actor, *, resource_code: str,
               page: Window | None = Window()) -> Found[Load]:
    resource = get_resource(session, resource_code)
    authorize(actor, "load.read", Target("resource", resource.code, resource.provider_id))
    return window(session, select(Load).where(Load.resource_id == resource.id).order_by(Load.id.desc()), page)


@service(mutates=False)
def failed_loads(session: Session, actor: Actor, *, days: int = 7, limit: int = 20) -> list[Load]:
    """Loads that failed in the last ``days``: the bureau's and auditors' view covers every
    department, a provider's its own resources."""
    everyone = is_allowed(actor, "load.read", Target("resource", None, -1))
    authorize(actor, "load.read", Target("resource", None, -1 if everyone else actor.department_id))
    since = utcnow() - timedelta(days=days)
    stmt = (select(Load).join(Resource, Resource.id == Load.resource_id)
            .where(Load.status == FAILED, Load.started_at >= since).order_by(Load.id.desc()).limit(limit))
    if not everyone:
        stmt = stmt.where(Resource.provider_id == actor.department_id)
    return list(session.scalars(stmt))


def explain(problem: LoadProblem, locale: str) -> str:
    """The problem in words: the code checks explain themselves; other rules fill a message."""
    if problem.kind == "id_number" and problem.value:
        return validate_id_number(problem.value).explain(locale)
    if problem.kind == "credit_code" and problem.value:
        return validate_credit_code(problem.value).explain(locale)
    template = REASONS.get(problem.reason)
    if template is None:
        return problem.reason
    return translate(locale, template, value=problem.value or "", detail=problem.detail or "")


@dataclass(frozen=True)
class Rejections:
    """A load's problems (one page of them), how many there are, and the rows they are in as read."""

    rows: list[LoadProblem]
    total: int
    originals: dict[int, dict]  # row number → source column → value


@service(mutates=False, personal=True)
def problems(session: Session, actor: Actor, load_id: int, *, severity: str | None = None,
             limit: int | None = None, offset: int = 0) -> Rejections:
    """Rejected and flagged rows show the values as loaded, personal data included: only the
    provider's staff, the bureau and auditors may read them, and each read is audited."""
    load = session.get(Load, load_id)
    if load is None:
        raise NotFound(what=LOAD, key=str(load_id))
    authorize(actor, "load.read", Target("load", str(load_id), load.resource.provider_id))
    stmt = select(LoadProblem).where(LoadProblem.load_id == load.id)
    if severity:
        stmt = stmt.where(LoadProblem.severity == severity)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = list(session.scalars(stmt.order_by(LoadProblem.row, LoadProblem.id).offset(offset).limit(limit)))
    numbers = sorted({p.row for p in rows})
    originals = {}
    for start in range(0, len(numbers), 10_000):  # bounded IN lists
        originals.update((row, json.loads(text)) for row, text in session.execute(
            select(LoadRow.row, LoadRow.original).where(LoadRow.load_id == load.id,
                                                        LoadRow.row.in_(numbers[start:start + 10_000]))))
    record_read(session, actor=actor, action="load.problems.read", target=Target("load", str(load.id)),
                 purpose="data quality rectification", detail={"rows": len(rows), "severity": severity})
    return Rejections(rows, total, originals)


HEADERS = (N_("Row"), N_("Column"), N_("Value"), N_("Rule"), N_("Severity"), N_("Reason"))


def _report_rows(rows: list[LoadProblem], locale: str) -> list[list]:
    return [[p.row, p.column or "", p.value or "", translate(locale, KIND_LABELS.get(p.kind, p.kind)),
             translate(locale, N_("row rejected") if p.severity == "reject" else N_("warning")), explain(p, locale)]
            for p in rows]


def _as_read(found: Rejections) -> tuple[list[str], list[list]]:
    """The rejected rows as they were read, in the file's own columns: fix them and load them again."""
    rejected = sorted({p.row for p in found.rows if p.severity == "reject"} & found.originals.keys())
    header = list(dict.fromkeys(column for row in rejected for column in found.originals[row]))
    return header, [[found.originals[row].get(column) for column in header] for row in rejected]


def report(found: Rejections, fmt: str, locale: str, part: str = "problems") -> bytes:
    """The problems (``part="problems"``) or the rejected rows as read (``part="rows"``) as CSV; an
    Excel workbook holds both, one sheet each."""
    header, body = [translate(locale, h) for h in HEADERS], _report_rows(found.rows, locale)
    if fmt == "csv":
        if part == "rows":
            header, body = _as_read(found)
        return csv_for_spreadsheets(header, body)
    book = Workbook()
    sheet = book.active
    sheet.title = translate(locale, N_("Rejected rows"))[:31]
    fill_sheet(sheet, header, body)
    for letter, width in zip("ABCDEF", (8, 18, 24, 24, 10, 60)):
        sheet.column_dimensions[letter].width = width
    fill_sheet(book.create_sheet(translate(locale, N_("As read (fix, load again)"))[:31]), *_as_read(found))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@service(mutates=True)
def set_column_mapping(session: Session, actor: Actor, *, resource_code: str, mapping: dict[str, str]) -> dict:
    """Save which source column feeds which data item, for files whose headers differ."""
    from datong.errors import InvalidInput

    resource = get_resource(session, resource_code)
    authorize(actor, "resource.edit", Target("resource", resource.code, resource.provider_id))
    items = {i.name for i in resource.items}
    unknown = sorted(target for target in mapping.values() if target not in items)
    if unknown:
        raise InvalidInput(field="mapping", reason=Message(N_("these are not data items of the resource: {names}"),
                                                           names="、".join(unknown)))
    cleaned = {header.strip(): target for header, target in mapping.items() if header.strip()}
    resource.column_mapping = cleaned
    append_event(session, actor=actor, action="resource.mapping", target=Target("resource", resource.code),
                 detail={"mapping": cleaned})
    return cleaned
