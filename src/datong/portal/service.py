"""What a signed-in citizen or company does for themselves: see who used their data (and flag a
read they do not recognise, which opens a case for the auditor), read their notices, follow
their applications. Their licences and authorisations are the licence domain's (``my_licences``,
``give_consent``); applying, supplying 补正 material and rating are the one window's, which take
a holder as the actor."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from datong.db.base import utcnow
from datong.db.paging import Found, Window, window
from datong.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from datong.i18n import N_, Term
from datong.portal.models import CLOSED, OPEN, DataUseFlag
from datong.security.audit import append_event, record_read
from datong.security.authz import ACTION_LABELS, Actor, Target, authorize, service
from datong.security.models import ApiClient, AuditEvent, AuditSubject, Department, User
from datong.services.models import Case, Notice

#: The recorded reads of personal data a person is shown, and how each is said to them.
READS = {
    "share.read": N_("read your records in {resource}"),
    "share.subject": N_("looked you up across every resource it may read (一号)"),
    "share.export": N_("exported a file of records that includes yours"),
    "share.deliver": N_("was sent a change to your records (subscription)"),
    "registry.read": N_("read your profile in the population or legal-entity registry"),
    "registry.review.read": N_("compared records that may be yours (registry review)"),
    "licence.use": N_("used your licences"),
    "licence.read": N_("read one of your licences"),
    "licence.list": N_("listed licences that include yours"),
    "case.read": N_("opened your application"),
    "case.list": N_("listed applications that include yours"),
    "case.attachment": N_("opened a document you attached"),
    "quality.samples": N_("checked records that include yours for errors (data quality)"),
    "load.problems.read": N_("read rejected rows of a load that include yours"),
    "audit.read": N_("read the audit log where it names you"),
    "audit.export": N_("exported the audit log where it names you"),
}


def _key(actor: Actor) -> str:
    """The signed-in holder's own key; nobody else (not even the operator) has a space here."""
    if actor.kind != "holder":
        raise PermissionDenied(action=Term(ACTION_LABELS["holder.own"]))
    key = actor.name.removeprefix("holder:")
    authorize(actor, "holder.own", Target("holder", key))
    return key


def _uses_of(key: str, actor: Actor):
    mine = select(AuditSubject.seq).where(AuditSubject.subject == key)
    return (select(AuditEvent).where(AuditEvent.seq.in_(mine), AuditEvent.action.in_(list(READS)),
                                     AuditEvent.actor != actor.name, AuditEvent.outcome == "success")
            .order_by(AuditEvent.seq.desc()))


def _who(session: Session, events: list[AuditEvent]) -> dict[str, dict]:
    """Departments, staff and systems behind the events, as people name them."""
    departments = dict(session.execute(select(Department.code, Department.name).where(
        Department.code.in_({e.actor_department for e in events if e.actor_department}))).all())
    names = {e.actor for e in events}
    users = dict(session.execute(select(User.username, User.display_name).where(User.username.in_(names))).all())
    clients = dict(session.execute(select(ApiClient.client_id, ApiClient.name).where(ApiClient.client_id.in_(names))).all())
    return {"departments": departments, "users": users, "clients": clients}


def _resources(session: Session, events: list[AuditEvent]) -> dict[str, str]:
    from datong.catalog.models import Resource

    codes = {e.target.removeprefix("resource:") for e in events if (e.target or "").startswith("resource:")}
    return dict(session.execute(select(Resource.code, Resource.name).where(Resource.code.in_(codes))).all())


def _describe(event: AuditEvent, who: dict, resources: dict, flags: dict) -> dict:
    if event.actor in who["users"]:
        by, kind = who["users"][event.actor], "staff"
    elif event.actor in who["clients"]:
        by, kind = who["clients"][event.actor], "system"
    else:
        by, kind = event.actor.removeprefix("system:"), "hub"
    detail = event.detail or {}
    resource = (event.target or "").removeprefix("resource:")
    return {"seq": event.seq, "at": event.occurred_at, "action": event.action, "what": READS[event.action],
            "resource": resources.get(resource, resource if (event.target or "").startswith("resource:") else ""),
            "department": who["departments"].get(event.actor_department, event.actor_department or ""),
            "by": by, "by_kind": kind, "purpose": event.purpose or "", "case_number": event.case_number or "",
            "items": detail.get("items") or [], "flag": flags.get(event.seq)}


@service(mutates=False, personal=True)
def data_uses(session: Session, actor: Actor, *, page: Window | None = None) -> Found[dict]:
    """Who used my data (after Estonia's Data Tracker): every recorded read of my personal data by
    anyone but me, newest first, said in plain language. Looking is itself recorded."""
    key = _key(actor)
    events = window(session, _uses_of(key, actor), page or Window(limit=50))
    who, resources = _who(session, events), _resources(session, events)
    flags = dict(session.execute(select(DataUseFlag.audit_seq, DataUseFlag.status).where(
        DataUseFlag.holder_key == key, DataUseFlag.audit_seq.in_([e.seq for e in events]))).all())
    record_read(session, actor=actor, action="portal.data_uses", target=f"holder:{key}", subjects=[key],
                purpose="本人查询数据使用记录", detail={"returned": len(events)})
    return Found([_describe(e, who, resources, flags) for e in events], events.total, events.exact)


@service(mutates=True)
def flag_use(session: Session, actor: Actor, *, seq: int, reason: str) -> DataUseFlag:
    """I do not recognise this read: the auditor gets a case to look into it."""
    key = _key(actor)
    if not (reason or "").strip():
        raise InvalidInput(field="reason", reason=Term(N_("say what you do not recognise about this use")))
    if session.scalar(_uses_of(key, actor).where(AuditEvent.seq == seq).with_only_columns(AuditEvent.seq)) is None:
        raise NotFound(what=Term(N_("Use of your data")), key=str(seq))
    if session.scalar(select(DataUseFlag.id).where(DataUseFlag.holder_key == key, DataUseFlag.audit_seq == seq)):
        raise Conflict(what=Term(N_("A flag on this use")), key=str(seq))
    flag = DataUseFlag(holder_key=key, audit_seq=seq, reason=reason.strip()[:2000])
    session.add(flag)
    session.flush()
    append_event(session, actor=actor, action="portal.flag", target=f"audit_event:{seq}", subjects=[key],
                 detail={"flag": flag.id, "reason": flag.reason})
    return flag


@service(mutates=False, personal=True)
def list_flags(session: Session, actor: Actor, *, status: str | None = OPEN) -> list[dict]:
    """The auditor's cases: flagged reads with the event each names."""
    authorize(actor, "flag.manage", Target("portal_flags"))
    stmt = select(DataUseFlag, AuditEvent).join(AuditEvent, AuditEvent.seq == DataUseFlag.audit_seq)
    if status:
        stmt = stmt.where(DataUseFlag.status == status)
    rows = session.execute(stmt.order_by(DataUseFlag.id.desc()).limit(500)).all()
    record_read(session, actor=actor, action="audit.read", target="portal_flags",
                subjects=sorted({f.holder_key for f, _ in rows}), detail={"flags": len(rows)})
    return [{"flag": f, "event": e} for f, e in rows]


@service(mutates=True)
def close_flag(session: Session, actor: Actor, *, flag_id: int, finding: str) -> DataUseFlag:
    """The auditor's finding, which the person who flagged the read is told."""
    authorize(actor, "flag.manage", Target("portal_flags"))
    flag = session.get(DataUseFlag, flag_id)
    if flag is None:
        raise NotFound(what=Term(N_("Flag")), key=str(flag_id))
    if flag.status == CLOSED:
        raise Conflict(what=Term(N_("A finding on this flag")), key=str(flag_id))
    if not (finding or "").strip():
        raise InvalidInput(field="finding", reason=Term(N_("write what the audit found")))
    flag.status, flag.finding, flag.closed_by, flag.closed_at = CLOSED, finding.strip()[:4000], actor.name, utcnow()
    session.add(Notice(holder_key=flag.holder_key, kind="flag_closed",
                       text=f"您对数据使用记录（第{flag.audit_seq}号）提出的疑问已核查：{flag.finding}"))
    append_event(session, actor=actor, action="portal.flag.close", target=f"audit_event:{flag.audit_seq}",
                 subjects=[flag.holder_key], detail={"flag": flag.id, "finding": flag.finding})
    return flag


@service(mutates=False)
def my_notices(session: Session, actor: Actor, *, page: Window | None = None) -> Found[Notice]:
    key = _key(actor)
    return window(session, select(Notice).where(Notice.holder_key == key).order_by(Notice.id.desc()),
                  page or Window(limit=50))


def departments(session: Session) -> list[tuple[str, str]]:
    """The departments a holder may authorise (public: names and credit codes)."""
    return list(session.execute(select(Department.code, Department.name).where(Department.is_active)
                                .order_by(Department.name)).all())


def unread_notices(session: Session, key: str) -> int:
    return session.scalar(select(func.count()).select_from(Notice).where(Notice.holder_key == key,
                                                                         Notice.read_at.is_(None))) or 0


@service(mutates=True)
def mark_notices_read(session: Session, actor: Actor) -> int:
    key = _key(actor)
    return session.execute(update(Notice).where(Notice.holder_key == key, Notice.read_at.is_(None))
                           .values(read_at=utcnow())).rowcount


@service(mutates=False)
def my_cases(session: Session, actor: Actor, *, page: Window | None = None) -> Found[Case]:
    """My applications (a bundle once, not its items), newest first."""
    key = _key(actor)
    return window(session, select(Case).where(Case.applicant_key == key, Case.parent_id.is_(None))
                  .order_by(Case.id.desc()), page or Window(limit=50))


@service(mutates=False, personal=True)
def my_licence(session: Session, actor: Actor, *, identifier: str):
    """One of my licences, to view or download; the holder's own reading is recorded."""
    from datong.licenses.models import Licence

    key = _key(actor)
    licence = session.scalar(select(Licence).where(Licence.identifier == identifier, Licence.holder_key == key))
    if licence is None:
        raise NotFound(what=Term(N_("Licence")), key=identifier)
    record_read(session, actor=actor, action="licence.own", target=f"licence:{identifier}", subjects=[key],
                purpose="持证人下载本人证照", detail={"licence": identifier})
    return licence
