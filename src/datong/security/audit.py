"""The audit chain: every change and every read of personal data, tamper-evident.

Each event carries the hash of the one before it, over a canonical JSON form of its own content.
SM3 (GB/T 32905) is the default hash, SHA-256 selectable; each event records which it used.

Services record events in one of two ways (the writer is :mod:`datong.security.chain`):

- :func:`append_event` for a change: the event is written to the outbox in the change's own
  transaction and reaches the chain once that commits;
- :func:`record_read` for a read of personal data: the event is group-committed to the chain
  before the function returns, so no answer leaves unaudited; or, where the caller that sends the
  answer has asked to wait itself (the governed reads of the API, which wait on the event loop
  instead of holding a thread), before that caller sends it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from datong.db.paging import Found, Window, window
from datong.db.writes import append_rows
from datong.errors import NotFound
from datong.i18n import N_, Term
from datong.security.authz import Actor, Target, authorize, service
from datong.security.chain import GENESIS, canonical, canonical_body, digest, make_event, stored_columns, stored_event
from datong.security.models import AuditEvent, AuditHead, AuditOutbox, AuditSubject

__all__ = ["GENESIS", "append_event", "canonical", "digest", "record_read", "verify_chain"]
HASH_SETTING = "audit_hash"
_outbox = AuditOutbox.__table__


def append_event(
    session: Session,
    *,
    actor: Actor,
    action: str,
    target: Target | str | None = None,
    subjects: Iterable[str] = (),
    purpose: str | None = None,
    case_number: str | None = None,
    outcome: str = "success",
    detail: dict | None = None,
) -> None:
    """Record a change's event in the caller's transaction (the outbox); it joins the chain
    when that transaction commits, and not at all if it rolls back."""
    event = make_event(actor=actor, action=action, target=target, subjects=subjects, purpose=purpose,
                       case_number=case_number, outcome=outcome, detail=detail)
    append_rows(session, AuditOutbox, [event])  # at the driver level: every change records one
    session.info["audit_outbox"] = True


AUDIT_WAITS = "audit_waits"


def record_read(session: Session, **event) -> None:
    """Append a read's event to the chain and wait until it has committed (group commit with
    other requests); raises AuditUnavailable (503) if it cannot. Takes the keywords of
    :func:`append_event`. A session opened with ``Database.reading(audit_waits=[...])`` collects
    the pending commit in that list instead, and its opener waits for it before answering; a
    ``Database.unit_of_work()`` session puts it in its outbox."""
    owner = getattr(session, "session", session)  # a Snapshot over an ORM session: that session
    if owner is not None and owner.info.get("unit_of_work"):
        # Inside a writing transaction the read's event joins its outbox: it commits with the
        # transaction, and the unit of work drains it into the chain before its caller answers,
        # without holding the write lock while a separate audit commit is awaited.
        append_event(owner, **event)
        return
    writer, waits = session.info["audit_writer"], session.info.get(AUDIT_WAITS)
    if waits is None:
        writer.record(**event)
    else:
        waits.append(writer.submit(make_event(**event)))


@dataclass(frozen=True)
class ChainReport:
    intact: bool
    events: int
    first_bad_seq: int | None = None
    problem: str | None = None

    def describe(self) -> str:
        if self.intact:
            return f"intact: {self.events} events"
        return f"broken at event {self.first_bad_seq}: {self.problem}"


def _rows(session: Session, batch: int = 10_000) -> Iterator[tuple[dict, bytes]]:
    """Every event in chain order with the bytes its hash covers, streamed from the driver."""
    connection = session.connection()
    result = connection.execution_options(yield_per=batch).exec_driver_sql(
        f"SELECT {stored_columns(connection.dialect.name)} FROM audit_events ORDER BY seq")
    for row in result:
        yield stored_event(tuple(row))


def verify_chain(session: Session) -> ChainReport:
    """Walk the chain from the first event and name the first one that was altered, reordered,
    deleted or inserted. The head is read first: events appended while the walk runs (another
    process's batch) are checked too, and the head must match the event it names."""
    head = session.get(AuditHead, 1)
    last_seq, last_hash = (head.last_seq, head.last_hash) if head else (None, None)
    running, expected, count = GENESIS, 1, 0
    for event, body in _rows(session):
        if event["seq"] != expected:
            return ChainReport(False, count, expected, f"event {expected} is missing (deleted)")
        if event["prev_hash"] != running:
            return ChainReport(
                False, count, expected, "its link to the previous event does not match (order changed or an event was replaced)"
            )
        if digest(event["algorithm"], body) != event["hash"] and \
                digest(event["algorithm"], canonical_body(event)) != event["hash"]:
            return ChainReport(False, count, expected, "its content was altered")
        running, expected, count = event["hash"], expected + 1, count + 1
        if count == last_seq and running != last_hash:
            return ChainReport(False, count, count, "the chain's head does not match this event (replaced)")
    if head is None or count < last_seq or (count == 0 and last_hash != GENESIS):
        return ChainReport(
            False, count, count + 1, f"the chain should have {last_seq} events; those after {count} were deleted"
        )
    return ChainReport(True, count)


def pending_events(session: Session) -> int:
    """Changes' events committed to the outbox and not yet moved into the chain."""
    from sqlalchemy import func

    mark = session.scalar(select(AuditHead.outbox_mark).where(AuditHead.id == 1)) or 0
    stmt = select(func.count()).select_from(_outbox)
    if session.get_bind().dialect.name == "sqlite":
        stmt = stmt.where(_outbox.c.id > mark)
    return session.scalar(stmt) or 0


@service(mutates=False, personal=True)
def verify_audit_chain(session: Session, actor: Actor) -> ChainReport:
    authorize(actor, "audit.verify", Target("audit_chain"))
    report = verify_chain(session)
    record_read(session, actor=actor, action="audit.verify", target="audit_chain",
                 outcome="success" if report.intact else "failure", detail={"report": report.describe()})
    return report


#: What each recorded action is called for people reading the log (the code stays in the chain).
ACTION_LABELS = {
    "auth.login": N_("signed in to the console"), "auth.token": N_("obtained an API token"),
    "auth.lock": N_("account locked after failed sign-ins"), "user.unlock": N_("unlocked an account"),
    "user.create": N_("created an account"), "department.create": N_("registered a department"),
    "user.disable": N_("disabled an account"), "user.enable": N_("enabled an account"),
    "user.password.reset": N_("reset a password"), "user.roles": N_("changed an account's roles"),
    "client.disable": N_("disabled a department system"), "client.enable": N_("enabled a department system"),
    "client.rotate": N_("renewed a system's secret"), "department.deactivate": N_("deactivated a department"),
    "department.activate": N_("activated a department"), "resource.withdraw": N_("withdrew a resource"),
    "share.withdrawn": N_("ended the grants, subscriptions and requests of a withdrawn resource"),
    "client.create": N_("registered a department system"), "code_list.create": N_("created a code list"),
    "data_element.create": N_("created a data element"), "dictionary.install": N_("installed the data dictionary"),
    "resource.create": N_("registered a resource"), "resource.update": N_("changed a resource"),
    "resource.mapping": N_("saved a column mapping"), "resource.edit": N_("edited the catalog"),
    "source.claim": N_("claimed an authoritative source"), "source.resolve": N_("decided a source conflict"),
    "data.load": N_("loaded data"), "load.read": N_("read loads"), "load.problems.read": N_("read rejected rows"),
    "quality.run": N_("ran the quality rules"), "quality.rule": N_("declared a quality rule"),
    "quality.samples": N_("read quality issue samples"), "issue.transition": N_("moved a quality issue"),
    "share.request": N_("requested shared data"), "share.decide": N_("decided a sharing request"),
    "share.revoke": N_("revoked a grant"), "share.read": N_("read shared records"),
    "share.subject": N_("read everything about one person or company (一号)"),
    "share.export": N_("exported shared data as a file"), "share.subscribe": N_("subscribed to changes"),
    "share.subscription.update": N_("changed a subscription"), "share.unsubscribe": N_("ended a subscription"),
    "share.deliver": N_("delivered a change to a subscriber"),
    "share.deliver.retry": N_("a delivery failed and will be retried"),
    "share.deliver.dead": N_("a delivery was given up (dead letter)"),
    "share.deliver.requeue": N_("asked for a dead letter to be sent again"),
    "audit.read": N_("read the audit log"), "audit.verify": N_("verified the audit chain"),
    "audit.export": N_("exported the audit log"),
}
OUTCOMES = ("success", "denied", "failure")


def _filtered(stmt, *, by_actor, action, subject, department, outcome, since, until):
    since, until = (t.replace(tzinfo=UTC) if t and t.tzinfo is None else t for t in (since, until))
    for column, value in ((AuditEvent.actor, by_actor), (AuditEvent.action, action),
                          (AuditEvent.actor_department, department), (AuditEvent.outcome, outcome)):
        if value:
            stmt = stmt.where(column == value)
    if subject:
        stmt = stmt.where(AuditEvent.seq.in_(select(AuditSubject.seq).where(AuditSubject.subject == subject)))
    if since:
        stmt = stmt.where(AuditEvent.occurred_at >= since)
    if until:
        stmt = stmt.where(AuditEvent.occurred_at < until)
    return stmt


@service(mutates=False, personal=True)
def list_audit_events(
    session: Session,
    actor: Actor,
    *,
    by_actor: str | None = None,
    action: str | None = None,
    subject: str | None = None,
    department: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
    before_seq: int | None = None,
    export: str | None = None,
) -> Found[AuditEvent]:
    """Events newest first, filtered (``department`` is the actor's department code); ``total``
    counts the events that match from the ``before_seq`` cursor on. Reading the log is itself
    logged (it names data subjects); an ``export`` (its format) is logged as such and may take up
    to 100,000 events."""
    authorize(actor, "audit.read", Target("audit_events"))
    stmt = select(AuditEvent).order_by(AuditEvent.seq.desc())
    stmt = _filtered(stmt, by_actor=by_actor, action=action, subject=subject, department=department,
                     outcome=outcome, since=since, until=until)
    if before_seq:
        stmt = stmt.where(AuditEvent.seq < before_seq)
    events = window(session, stmt, Window(limit=min(limit, 100_000 if export else 1000), offset=offset))
    filters = {k: v for k, v in {"actor": by_actor, "action": action, "subject": subject, "department": department,
                                 "outcome": outcome, "since": since and since.isoformat(),
                                 "until": until and until.isoformat()}.items() if v}
    record_read(session, actor=actor, action="audit.export" if export else "audit.read", target="audit_events",
                subjects=[subject] if subject else [],
                detail={"filters": filters, "returned": len(events), **({"format": export} if export else {})})
    return events


@service(mutates=False, personal=True)
def get_audit_event(session: Session, actor: Actor, *, seq: int) -> AuditEvent:
    """One event in full, with its place in the chain; the reading is logged with its subjects."""
    authorize(actor, "audit.read", Target("audit_events"))
    event = session.get(AuditEvent, seq)
    if event is None:
        raise NotFound(what=Term(N_("Audit event")), key=str(seq))
    record_read(session, actor=actor, action="audit.read", target=f"audit_event:{seq}", subjects=event.subjects,
                detail={"event": seq})
    return event
