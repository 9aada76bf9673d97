"""Issuing in bulk from a loaded resource (e.g. marriage registrations → 结婚证).

A committed load of a licence type's source resource queues the work (``licence_pending``, in the
event's transaction); the work runs after dispatch, outside any transaction, claimed with a lease.
DuckDB finds the snapshot's records that have no licence yet (or whose record changed: those are
reissued, 换发) and pulls the mapped items out of the JSON payloads; the rows are signed in Python
(the one step that is per licence by nature) outside any transaction, and written in short
transactions of a few thousand, each with its audit event.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from datong import events
from datong.db.base import utcnow
from datong.db.engine import Database
from datong.errors import DatongError, InvalidInput
from datong.i18n import N_, Term
from datong.licenses import service
from datong.licenses.models import SUPERSEDED, IssuePending, Licence, LicenceEvent, LicenceType
from datong.security.audit import append_event
from datong.security.authz import Actor, Target, authorize
from datong.security.models import Department
from datong.warehouse import engine as warehouse
from datong.warehouse.engine import sql_string

log = logging.getLogger(__name__)
CHUNK = 5000
LEASE = timedelta(minutes=30)
MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=2)
Progress = Callable[[int, int], None]


@dataclass
class IssueReport:
    type_code: str
    issued: int = 0
    reissued: int = 0
    skipped: int = 0  # records whose data cannot make a licence (a wrong ID, a missing field)
    problems: list[str] = field(default_factory=list)  # the first few, with the record's key
    seconds: float = 0.0


@events.consumer(events.LOAD_COMMITTED, "licences.issue")
def queue_issue(session: Session, payload: dict, database: Database) -> None:
    """Queue issuing for every licence type that issues from the loaded resource."""
    for kind in session.scalars(select(LicenceType).where(LicenceType.source_resource_id == payload["resource"])):
        session.add(IssuePending(type_id=kind.id, load_id=payload["load"], snapshot=payload["snapshot"],
                                 previous=payload.get("previous")))


def _existing(session: Session, kind: LicenceType) -> list[tuple]:
    """The newest version of each record's licence (a superseded one has a newer version)."""
    return list(session.execute(select(Licence.source_key, Licence.source_hash, Licence.id, Licence.family,
                                       Licence.version, Licence.status).where(
        Licence.type_id == kind.id, Licence.source_key.is_not(None), Licence.status != SUPERSEDED)))


def _candidates(database: Database, kind: LicenceType, snapshot: str, existing: list[tuple]) -> list[tuple]:
    """(key, hash, holder key, holder name, field values…, old id, family, version) of every
    snapshot record with no licence, or whose record changed since its licence (valid or suspended)
    was issued. A revoked licence stays revoked: its record issues nothing again."""
    mapping = kind.source_mapping or {}
    fields = mapping.get("fields") or {}

    def item(name: str) -> str:
        return f"json_extract_string(payload, {sql_string('$.' + _json_key(name))})"

    columns = [item(mapping["holder_key"]), item(mapping["holder_name"])]
    columns += [item(fields[f["name"]]) if f["name"] in fields else "NULL" for f in kind.fields]
    work = database.data_dir / "work" / f"issue-{uuid.uuid4().hex}"
    with warehouse.session(work, memory=database.warehouse_memory) as con:
        warehouse.table_from_rows(con, "issued", {"key": str, "hash": str, "id": int, "family": str, "version": int,
                                                  "status": str}, existing)
        rows = con.execute(f"""
            SELECT s.__key, s.__hash, {', '.join(columns)}, i.id, i.family, i.version
            FROM read_parquet({sql_string(snapshot)}) s LEFT JOIN issued i ON i.key = s.__key
            WHERE i.key IS NULL OR (i.hash IS DISTINCT FROM s.__hash AND i.status IN ('valid', 'suspended'))
            ORDER BY s.__key""").fetchall()
    return rows


def _json_key(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def issue_from_snapshot(database: Database, actor: Actor, *, type_code: str, snapshot: str,
                        progress: Progress | None = None) -> IssueReport:
    """Issue (or reissue) a licence for every record of ``snapshot`` that has none of its current
    content. Safe to repeat: what was issued is found and skipped."""
    started = time.perf_counter()
    with database.reading() as session:
        kind = service.licence_type(session, type_code)
        if not kind.source_mapping or kind.source is None:
            raise InvalidInput(field="source", reason=Term(N_("the licence type names no source resource")))
        issuer = session.scalar(select(Department).where(Department.code == kind.issuers[0]))
        authorize(actor, "licence.issue", Target("licence_type", kind.code, issuer.id))
        signer = service.signer_for(session, kind, issuer)
        rows = _candidates(database, kind, snapshot, _existing(session, kind))
    report = IssueReport(kind.code)
    names = [f["name"] for f in kind.fields]
    drafts, olds = [], []
    for row in rows:
        key, digest, holder, name, *values = row
        values, old = values[:len(names)], values[len(names):]
        try:
            drafts.append(service.check_draft(kind, service.Draft(holder or "", name or "", dict(zip(names, values)),
                                                                  source_key=key, source_hash=digest)))
            olds.append(old if old[0] is not None else None)
        except DatongError as problem:
            report.skipped += 1
            if len(report.problems) < 20:
                report.problems.append(f"{key}: {problem.localised('zh-CN')}")
    for start in range(0, len(drafts), CHUNK):
        _write_chunk(database, actor, signer, drafts[start:start + CHUNK], olds[start:start + CHUNK], report)
        if progress is not None:
            progress(min(start + CHUNK, len(drafts)), len(drafts))
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _write_chunk(database: Database, actor: Actor, signer: service.Signer, drafts: list, olds: list,
                 report: IssueReport) -> None:
    fresh = [d for d, o in zip(drafts, olds) if o is None]
    again = [(d, o) for d, o in zip(drafts, olds) if o is not None]
    with database.unit_of_work() as session:  # a short write: numbers only
        serial = service.take_numbers(session, f"serial:{signer.kind.code}:{signer.issuer.code}", len(fresh))
        status = service.take_numbers(session, "status", len(drafts))
        signer = service.signer_for(session, signer.kind, signer.issuer)  # the key in force now (a rotation)
    rows = service.signed_rows(signer, fresh, serial, status, actor.name)
    rows += service.signed_rows(signer, [d for d, _ in again], 0, status + len(fresh), actor.name,
                                versions=[(o[1].rsplit(".", 1)[1], o[2] + 1) for _, o in again])
    with database.unit_of_work() as session:
        session.execute(insert(Licence), rows)
        ids = dict(session.execute(select(Licence.identifier, Licence.id).where(
            Licence.status_index.between(status, status + len(drafts) - 1))).all())
        now = utcnow()
        if again:
            session.execute(update(Licence).where(Licence.id.in_([o[0] for _, o in again]))
                            .values(status=SUPERSEDED, changed_at=now, status_reason="源数据变更换发"))
        session.execute(insert(LicenceEvent), [{"licence_id": ids[r["identifier"]], "action": "issued",
                                                "actor": actor.name, "at": now} for r in rows]
                        + [{"licence_id": o[0], "action": "superseded", "reason": "源数据变更换发", "actor": actor.name,
                            "at": now} for _, o in again])
        service.notify(session, signer.kind, rows, "inserted")
        append_event(session, actor=actor, action="licence.issue.bulk", target=f"licence_type:{signer.kind.code}",
                     detail={"issued": len(fresh), "reissued": len(again), "first": rows[0]["identifier"] if rows else None,
                             "status_from": status})
    report.issued += len(fresh)
    report.reissued += len(again)


# -- the queue -----------------------------------------------------------------------------------

def _claim(database: Database, holder: str) -> IssuePending | None:
    now = utcnow()
    with database.reading() as session:
        if session.scalar(select(IssuePending.id).where(IssuePending.attempts < MAX_ATTEMPTS).limit(1)) is None:
            return None
    with database.unit_of_work() as session:
        free = or_(IssuePending.claimed_until.is_(None), IssuePending.claimed_until < now)
        row = session.scalar(select(IssuePending).where(free, IssuePending.attempts < MAX_ATTEMPTS)
                             .order_by(IssuePending.id).limit(1))
        if row is None:
            return None
        claimed = session.execute(update(IssuePending).where(IssuePending.id == row.id, free).values(
            claimed_by=holder, claimed_until=now + LEASE, attempts=IssuePending.attempts + 1))
        return row if claimed.rowcount == 1 else None


_running = threading.local()


def process_pending(database: Database, *, limit: int = 10) -> int:
    """Issue from queued loads; returns how many succeeded. Failures stay queued, retried later."""
    if getattr(_running, "active", False):
        return 0
    _running.active, done = True, 0
    holder = f"{socket.gethostname()}:{os.getpid()}"
    try:
        for _ in range(limit):
            row = _claim(database, holder)
            if row is None:
                break
            done += _run_one(database, row)
    finally:
        _running.active = False
    return done


def _run_one(database: Database, row: IssuePending) -> int:
    with database.reading() as session:
        code = session.get(LicenceType, row.type_id).code
    try:
        report = issue_from_snapshot(database, Actor.system("licences"), type_code=code, snapshot=row.snapshot)
    except Exception as exc:
        log.exception("issuing from load %s failed", row.load_id)
        with database.unit_of_work() as session:
            session.execute(update(IssuePending).where(IssuePending.id == row.id).values(
                error=str(exc)[:2000], claimed_until=utcnow() + RETRY_AFTER * (row.attempts + 1)))
        return 0
    log.info("issued %s licences (%s reissued, %s skipped) from load %s", report.issued, report.reissued,
             report.skipped, row.load_id)
    with database.unit_of_work() as session:
        session.execute(delete(IssuePending).where(IssuePending.id == row.id))
    return 1


events.AFTER_DISPATCH["licences.issue"] = process_pending
