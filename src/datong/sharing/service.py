"""Requests, decisions, grants, and reading shared records under a grant.

The sharing type of the resource decides a request: 无条件共享 is granted at once, 有条件共享
waits for the provider's decision (approve, possibly fewer items or a shorter time, or reject
with a reason), 不予共享 is refused with the reason the catalog gives. Every read of shared data
names its purpose, returns only granted items, masked by sensitivity unless the grant allows plain
text, and is audited with the subjects it returned; a read without a grant is refused and audited.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from datong.catalog.models import Resource
from datong.catalog.vocab import KeyKind
from datong.catalog.service import RESOURCE, get_resource, refuse_withdrawn
from datong.quality import service as quality_service
from datong.db.base import utcnow
from datong.db.paging import Found, Window, containing, window
from datong.db.snapshot import Prepared, Snapshot, among, iso_time, json_value, snapshot_of
from datong.errors import DatongError, InvalidInput, NotFound
from datong.i18n import N_, Message, Term
from datong.store.models import Record, RecordKey
from datong.store.snapshots import last_snapshot
from datong.security.audit import append_event, record_read
from datong.security.authz import Actor, Target, authorize, is_allowed, service
from datong.security.models import ApiClient, Department
from datong.security import masking
from datong.sharing.models import APPROVED, PENDING, REJECTED, Grant, ShareRequest

REQUEST = Term(N_("Sharing request"))
GRANT = Term(N_("Grant"))
DECISION_DAYS = 5  # the provider's deadline for a conditional request


class NotShared(DatongError):
    status = 403
    code = "not_shared"
    message = N_("{resource} is not shared (不予共享): {reason}")


class NoGrant(DatongError):
    status = 403
    code = "no_grant"
    message = N_("Your department holds no valid grant for {what} of {resource}; request it first, or ask the "
                 "provider why it was revoked or has expired.")


def _refused(error: DatongError, actor: Actor, action: str, target: str, detail: dict) -> DatongError:
    """A refusal rolls the transaction back and is then recorded on its own in the audit chain."""
    error.audit = {"actor": actor, "action": action, "target": target, "outcome": "denied", "detail": detail}
    return error


def _items_of(resource: Resource | ResourceView, names: list[str]) -> list[str]:
    """The named items in catalog order, or InvalidInput naming those the resource does not have."""
    known = [i.name for i in resource.items]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise InvalidInput(field="items", reason=Message(N_("not data items of the resource: {names}"),
                                                         names="、".join(unknown) or "—"))
    return [n for n in known if n in names]  # catalog order, no repeats


def default_plain(resource: Resource, items: list[str]) -> list[str]:
    """Items below 'highly sensitive' may be returned in plain text unless the provider says otherwise."""
    return [i.name for i in resource.items if i.name in items and i.sensitivity != "highly_sensitive"]


def _client_for(session: Session, actor: Actor, client_id: str | None) -> ApiClient | None:
    if actor.kind == "client":
        return session.get(ApiClient, actor.id)
    if client_id is None:
        return None
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None or client.department_id != actor.department_id:
        raise InvalidInput(field="client_id", reason=Term(N_("not a system of your department")))
    return client


def _grant(session: Session, request: ShareRequest, items: list[str], days: int, plain: list[str],
           approved_by: str) -> Grant:
    now = utcnow()
    grant = Grant(request_id=request.id, resource_id=request.resource_id, consumer_id=request.consumer_id,
                  client_id=request.client_id, items=items, plain_items=plain, purpose=request.purpose,
                  legal_basis=request.legal_basis, valid_from=now, valid_until=now + timedelta(days=days),
                  approved_by=approved_by)
    session.add(grant)
    session.flush()
    return grant


def may_request(actor: Actor, resource: Resource) -> bool:
    """Whether this actor could ask for the resource: its department may request, the resource is
    another department's, and it is shared at all (the service still decides the request)."""
    return (resource.provider_id != actor.department_id and resource.sharing_type != "none"
            and resource.withdrawn_at is None
            and is_allowed(actor, "share.request", Target("department", None, actor.department_id)))


def may_decide(actor: Actor, request: ShareRequest) -> bool:
    """Whether this actor could decide the request now: it is pending and theirs to decide."""
    return request.status == PENDING and is_allowed(actor, "share.decide", Target(
        "request", str(request.id), request.resource.provider_id))


@service(mutates=True)
def request_access(session: Session, actor: Actor, *, resource_code: str, items: list[str], purpose: str,
                   legal_basis: str, days: int, client_id: str | None = None) -> ShareRequest:
    resource = get_resource(session, resource_code)
    authorize(actor, "share.request", Target("department", str(actor.department_id), actor.department_id))
    if not purpose.strip() or not legal_basis.strip():
        raise InvalidInput(field="purpose", reason=Term(N_("give the purpose and the legal basis")))
    if not 1 <= days <= 1095:
        raise InvalidInput(field="days", reason=Term(N_("between 1 day and 3 years")))
    if resource.provider_id == actor.department_id:
        raise InvalidInput(field="resource", reason=Term(N_(
            "it is your own department's resource, which is not requested through sharing")))
    refuse_withdrawn(resource)
    chosen = _items_of(resource, items)
    if resource.sharing_type == "none":
        raise _refused(NotShared(resource=resource.name, reason=resource.sharing_condition or "—"), actor,
                       "share.request", f"resource:{resource.code}", {"items": chosen, "purpose": purpose})
    client = _client_for(session, actor, client_id)
    request = ShareRequest(resource=resource, consumer_id=actor.department_id, client_id=client.id if client else None,
                           items=chosen, purpose=purpose.strip(), legal_basis=legal_basis.strip(), days=days,
                           status=PENDING, requested_by=actor.name,
                           decide_by=date.today() + timedelta(days=DECISION_DAYS))
    session.add(request)
    session.flush()
    if resource.sharing_type == "unconditional":
        request.status, request.decided_by, request.decided_at = APPROVED, "system:unconditional", utcnow()
        _grant(session, request, chosen, days, default_plain(resource, chosen), "system:unconditional")
    append_event(session, actor=actor, action="share.request", target=Target("resource", resource.code),
                 purpose=purpose.strip(), detail={"request": request.id, "items": chosen, "status": request.status})
    return request


@service(mutates=True)
def decide_request(session: Session, actor: Actor, *, request_id: int, approve: bool, items: list[str] | None = None,
                   days: int | None = None, plain_items: list[str] | None = None, reason: str = "") -> ShareRequest:
    request = session.get(ShareRequest, request_id)
    if request is None:
        raise NotFound(what=REQUEST, key=str(request_id))
    authorize(actor, "share.decide", Target("request", str(request_id), request.resource.provider_id))
    if request.status != PENDING:
        raise InvalidInput(field="status", reason=Term(N_("the request has already been decided")))
    request.decided_by, request.decided_at, request.reason = actor.name, utcnow(), reason.strip()
    if not approve:
        if not reason.strip():
            raise InvalidInput(field="reason", reason=Term(N_("say why the request is rejected")))
        request.status = REJECTED
    else:
        granted = _items_of(request.resource, items) if items else list(request.items)
        if not set(granted) <= set(request.items):
            raise InvalidInput(field="items", reason=Term(N_("only requested items can be granted")))
        period = days or request.days
        if period > request.days:
            raise InvalidInput(field="days", reason=Term(N_("no longer than requested")))
        plain = default_plain(request.resource, granted) if plain_items is None else _items_of(request.resource,
                                                                                              plain_items)
        request.status = APPROVED
        _grant(session, request, granted, period, [p for p in plain if p in granted], actor.name)
    append_event(session, actor=actor, action="share.decide", target=Target("request", str(request.id)),
                 detail={"status": request.status, "reason": request.reason})
    return request


@service(mutates=True)
def revoke_grant(session: Session, actor: Actor, *, grant_id: int, reason: str) -> Grant:
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound(what=GRANT, key=str(grant_id))
    authorize(actor, "share.decide", Target("grant", str(grant_id), grant.resource.provider_id))
    if not reason.strip():
        raise InvalidInput(field="reason", reason=Term(N_("say why the grant is revoked")))
    grant.revoked_at, grant.revoked_by = utcnow(), actor.name
    append_event(session, actor=actor, action="share.revoke", target=Target("grant", str(grant.id)),
                 detail={"reason": reason.strip(), "consumer": grant.consumer.code})
    return grant


def _visible(session: Session, actor: Actor, model, kind: str, page: Window | None, q: str | None, *filters) -> Found:
    """The bureau and auditors see every row; a department the ones it is consumer or provider of.
    ``q`` searches the resource's name and code and the purpose."""
    authorize(actor, "share.read", Target(kind, None, actor.department_id))
    stmt = select(model).join(Resource, Resource.id == model.resource_id).order_by(model.id.desc())
    if not is_allowed(actor, "share.oversee", Target(kind)):
        stmt = stmt.where(or_(model.consumer_id == actor.department_id, Resource.provider_id == actor.department_id))
    if (words := containing(q, Resource.name, Resource.code, model.purpose)) is not None:
        stmt = stmt.where(words)
    return window(session, stmt.where(*filters), page)


@service(mutates=False)
def list_requests(session: Session, actor: Actor, *, status: str | None = None, q: str | None = None,
                  page: Window | None = None) -> Found[ShareRequest]:
    return _visible(session, actor, ShareRequest, "requests", page, q,
                    *([ShareRequest.status == status] if status else []))


@service(mutates=False)
def get_request(session: Session, actor: Actor, *, request_id: int) -> ShareRequest:
    """One request, for its consumer, its provider, the bureau and auditors (others get NotFound,
    so that a request's existence says nothing to them)."""
    authorize(actor, "share.read", Target("requests", None, actor.department_id))
    request = session.get(ShareRequest, request_id)
    if request is None or not (is_allowed(actor, "share.oversee", Target("requests")) or actor.department_id in (
            request.consumer_id, request.resource.provider_id)):
        raise NotFound(what=REQUEST, key=str(request_id))
    return request


@service(mutates=False)
def list_grants(session: Session, actor: Actor, *, q: str | None = None, page: Window | None = None) -> Found[Grant]:
    return _visible(session, actor, Grant, "grants", page, q)


def grant_state(grant: Grant, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    if grant.revoked_at is not None:
        return "revoked"
    return "expired" if grant.valid_until <= now else "active"


# --- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemView:
    name: str
    element: str | None
    sensitivity: str


@dataclass(frozen=True)
class ResourceView:
    """What a read needs of a resource, cached per (resource, version): the query path then costs
    one small query instead of loading the resource with its items and elements."""

    id: int
    code: str
    name: str
    provider_id: int
    items: tuple[ItemView, ...]


@dataclass(frozen=True)
class GrantView:
    id: int
    items: tuple[str, ...]
    plain_items: frozenset[str]


# The hot read path is one statement per read, at the driver level (datong.db.snapshot): the
# resource, the caller's newest active grant on it, and the records asked for with every subject
# they mention. Each further statement, and the ORM session, BEGIN and COMMIT around them, cost
# more than the database's own work, and under load each driver call also queues for the GIL.
def _best_grant(client: bool):
    """The id of the caller's newest grant on the resource that is in force now."""
    g = aliased(Grant)
    clients = or_(g.client_id.is_(None), g.client_id == bindparam("client")) if client else g.client_id.is_(None)
    return (select(func.max(g.id))
            .where(g.resource_id == Resource.id, g.consumer_id == bindparam("consumer"), g.revoked_at.is_(None),
                   g.valid_from <= bindparam("now"), g.valid_until > bindparam("now"), clients)
            .scalar_subquery())


_COLUMNS = (Resource.id, Resource.code, Resource.version, Department.name, Resource.attached_at,
            Grant.id, Grant.items, Grant.plain_items, Record.key, Record.payload)


def _keys_query(keys, client: bool) -> Prepared:
    """By resource code: one row without records when there is no grant or no such key."""
    return Prepared(
        select(*_COLUMNS, RecordKey.value)
        .join(Department, Department.id == Resource.provider_id)
        .outerjoin(Grant, and_(Grant.id == _best_grant(client), Resource.withdrawn_at.is_(None)))
        .outerjoin(Record, and_(Grant.id.is_not(None), Record.resource_id == Resource.id, keys))
        .outerjoin(RecordKey, and_(RecordKey.resource_id == Record.resource_id, RecordKey.record_key == Record.key))
        .where(Resource.code == bindparam("code")))



_KINDS = {f"kind_{kind.value}": kind.value for kind in KeyKind}


def _subject_query(client: bool) -> Prepared:
    """Every record that mentions a subject, in the resources the caller holds a grant for."""
    return Prepared(
        select(*_COLUMNS).select_from(RecordKey)
        .join(Resource, Resource.id == RecordKey.resource_id)
        .join(Department, Department.id == Resource.provider_id)
        .join(Grant, and_(Grant.id == _best_grant(client), Resource.withdrawn_at.is_(None)))
        .join(Record, and_(Record.resource_id == RecordKey.resource_id, Record.key == RecordKey.record_key))
        # the kinds too, so that the record_keys primary key (kind, value, …) finds the value
        .where(RecordKey.kind.in_([bindparam(name) for name in _KINDS]), RecordKey.value == bindparam("value")))


# Several keys: a JSON array on SQLite, an array on PostgreSQL (one statement text for any count).
_MANY = among(Record.key, "keys")
_ONE = {client: _keys_query(Record.key == bindparam("key"), client) for client in (True, False)}
_SEVERAL = {(dialect, client): _keys_query(clause, client) for dialect, clause in _MANY.items()
            for client in (True, False)}
_SUBJECT = {client: _subject_query(client) for client in (True, False)}


@dataclass(frozen=True)
class Readable:
    """A resource as one read sees it: its cached view, provider, last load and the caller's grant."""

    view: ResourceView
    provider: str
    last_updated: str | None
    grant: GrantView | None


def _caller(snapshot: Snapshot, actor: Actor) -> dict:
    return {"consumer": actor.department_id, "client": actor.id, "now": snapshot.time(utcnow())}


def _readable(snapshot: Snapshot, row) -> Readable:
    """The resource and grant columns of a lookup row, with the resource's view from the cache."""
    resource_id, code, version, provider, attached_at, grant_id, items, plain = row[:8]
    views = snapshot.info.setdefault("views", {})  # one cache per Database; an edit bumps the version
    view = views.get((resource_id, version))
    if view is None:
        with snapshot.orm() as session:
            resource = get_resource(session, code)
            view = ResourceView(resource.id, resource.code, resource.name, resource.provider_id, tuple(
                ItemView(i.name, i.element.identifier if i.element else None, i.sensitivity) for i in resource.items))
            version = resource.version
        if len(views) > 10_000:
            views.clear()
        views[(resource_id, version)] = view
    grant = GrantView(grant_id, tuple(json_value(items)), frozenset(json_value(plain))) if grant_id else None
    return Readable(view, provider, iso_time(attached_at), grant)


def _lookup(snapshot: Snapshot, actor: Actor, code: str, keys: list[str]):
    """The resource by code, the caller's grant on it, and these keys' records (payloads, and
    every subject they mention), in one statement."""
    client = actor.kind == "client"
    params = {"code": code.strip(), **_caller(snapshot, actor)}
    if len(keys) == 1:
        statement, params["key"] = _ONE[client], keys[0]
    else:
        statement = _SEVERAL[snapshot.dialect.name, client]
        params["keys"] = snapshot.values(keys)
    rows = snapshot.rows(statement, params)
    if not rows:
        raise NotFound(what=RESOURCE, key=code)
    found, subjects = {}, set()
    for row in rows:
        key, payload, subject = row[8], row[9], row[10]
        if key is not None and key not in found:
            found[key] = json.loads(payload)
        if subject is not None:
            subjects.add(subject)
    return _readable(snapshot, rows[0]), found, subjects


def _grant_on(session: Session | Snapshot, actor: Actor, code: str) -> GrantView | None:
    """The caller's grant in force on a resource (NotFound if there is no such resource)."""
    return _lookup(snapshot_of(session), actor, code, [])[0].grant


def shape_payload(session: Session, grant: Grant, payload: dict) -> dict:
    """A record as this grant may see it: granted items only, masked unless allowed in plain text."""
    items = tuple(ItemView(i.name, i.element.identifier if i.element else None, i.sensitivity)
                  for i in grant.resource.items)
    return _shape(items, GrantView(grant.id, tuple(grant.items), frozenset(grant.plain_items)), payload, grant.items,
                  masking_of(session))


def masking_of(session: Session) -> dict[str, str]:
    """The deployment's masking choices (DATONG_MASKING), carried on the session like other settings."""
    return session.info.get("masking") or {}


def _shape(items: tuple[ItemView, ...], grant: GrantView, payload: dict, wanted, overrides: dict) -> dict:
    shown = {}
    for item in items:
        if item.name in wanted:
            function = None if item.name in grant.plain_items else masking.policy_for(item.element, item.sensitivity,
                                                                                      overrides)
            shown[item.name] = masking.mask(payload.get(item.name), function)
    return shown


class PurposeRequired(DatongError):
    status = 400
    code = "purpose_required"
    message = N_("Say why you read this data: send the X-Purpose header (and X-Case-No with the application or "
                 "case number behind it).")


class TooManyKeys(DatongError):
    status = 422
    code = "too_many_keys"
    message = N_("At most {limit} keys in one query; split the batch.")


def required_purpose(purpose: str | None) -> str:
    """Every read of shared data names its purpose (at most 500 characters are kept)."""
    text = (purpose or "").strip()
    if not text:
        raise PurposeRequired()
    return text[:500]


@service(mutates=False, personal=True)
def read_records(session: Session | Snapshot, actor: Actor, *, resource_code: str, keys: list[str], purpose: str,
                 case_number: str | None = None, items: list[str] | None = None) -> dict:
    purpose = required_purpose(purpose)
    snapshot = snapshot_of(session)
    limit = snapshot.info.get("share_batch_limit", 1000)
    if len(keys) > limit:
        raise TooManyKeys(limit=limit)
    normalised = list(dict.fromkeys(k.strip().upper() for k in keys if k.strip()))
    readable, found, subjects = _lookup(snapshot, actor, resource_code, normalised)
    view, grant = readable.view, readable.grant
    authorize(actor, "share.read", Target("resource", view.code, view.provider_id))
    wanted = _items_of(view, items) if items else None
    target = f"resource:{view.code}"
    if grant is None:
        raise _refused(NoGrant(what=Term(N_("any data item")), resource=view.name), actor, "share.read",
                       target, {"keys": len(keys)})
    outside = [i for i in (wanted or []) if i not in grant.items]
    if outside:
        raise _refused(NoGrant(what="、".join(outside), resource=view.name), actor, "share.read", target,
                       {"grant": grant.id, "items": outside})
    shown_items = wanted or list(grant.items)
    record_read(snapshot, actor=actor, action="share.read", target=target, subjects=subjects, purpose=purpose,
                case_number=case_number, detail={"grant": grant.id, "items": shown_items, "returned": len(found),
                                                 "client": actor.name if actor.kind == "client" else None})
    overrides = masking_of(snapshot)
    return {
        "resource": view.code, "source": readable.provider, "last_updated": readable.last_updated, "grant": grant.id,
        "records": [{"key": k, **_shape(view.items, grant, found[k], shown_items, overrides)}
                    for k in normalised if k in found],
        "missing": [k for k in normalised if k not in found],
    }


@service(mutates=False, personal=True)
def subject_view(session: Session | Snapshot, actor: Actor, *, number: str, purpose: str,
                 case_number: str | None = None) -> list[dict]:
    """一号: every record about this citizen ID (or credit code) in the resources the caller may read."""
    purpose = required_purpose(purpose)
    authorize(actor, "share.read", Target("subject", None, None))
    snapshot = snapshot_of(session)
    value = number.strip().upper()
    rows = snapshot.rows(_SUBJECT[actor.kind == "client"], {"value": value, **_KINDS, **_caller(snapshot, actor)})
    rows.sort(key=lambda row: (row[0], row[8]))
    groups: dict[int, dict] = {}
    grants, overrides = [], masking_of(snapshot)
    for row in rows:
        group = groups.get(row[0])
        if group is None:
            readable = _readable(snapshot, row)
            grants.append(readable.grant.id)
            group = groups[row[0]] = {"readable": readable, "keys": set(), "records": []}
        if row[8] not in group["keys"]:
            group["keys"].add(row[8])
            readable = group["readable"]
            group["records"].append({"key": row[8], **_shape(readable.view.items, readable.grant, json.loads(row[9]),
                                                            readable.grant.items, overrides)})
    shown = [{"resource": g["readable"].view.code, "name": g["readable"].view.name,
              "source": g["readable"].provider, "last_updated": g["readable"].last_updated, "records": g["records"]}
             for g in groups.values()]
    record_read(snapshot, actor=actor, action="share.subject", target="subject", subjects=[value] if shown else [],
                purpose=purpose, case_number=case_number,
                detail={"grants": grants, "resources": [g["resource"] for g in shown]})
    return shown


class NoFileMethod(DatongError):
    status = 403
    code = "no_file_method"
    message = N_("{resource} is not shared as files; query it by key instead.")


@service(mutates=False, personal=True)
def export_records(session: Session, actor: Actor, *, resource_code: str, purpose: str, fmt: str,
                   case_number: str | None = None, work=None) -> Path:
    """The granted items of the whole resource as CSV or Parquet, masked per the grant, from the
    last load's snapshot in DuckDB; audited with the number of records and the grant. Returns a
    file of its own (a unique name, readable by this user only) that the caller streams and
    then deletes."""
    purpose = required_purpose(purpose)
    from datong.warehouse import engine as warehouse
    from datong.untrusted import neutralise_sql
    from datong.warehouse.engine import quote_identifier, sql_string

    resource = get_resource(session, resource_code)
    authorize(actor, "share.read", Target("resource", resource.code, resource.provider_id))
    grant = _grant_on(session, actor, resource.code)
    if grant is None:
        raise _refused(NoGrant(what=Term(N_("any data item")), resource=resource.name), actor, "share.export",
                       f"resource:{resource.code}", {"format": fmt})
    if "file" not in resource.sharing_methods:
        raise _refused(NoFileMethod(resource=resource.name), actor, "share.export", f"resource:{resource.code}",
                       {"grant": grant.id, "format": fmt})
    snapshot = last_snapshot(session, resource.id)
    columns = []
    for item in resource.items:
        if item.name in grant.items:
            value = f"json_extract_string(payload, {sql_string(chr(36) + '.' + chr(34) + item.name + chr(34))})"
            function = None if item.name in grant.plain_items else masking.policy_for(
                item.element.identifier if item.element else None, item.sensitivity, masking_of(session))
            columns.append(f"{masking.sql_for(function, value)} AS {quote_identifier(item.name)}")
    folder = Path(work or session.info["data_dir"] / "work" / "export")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / f"export-{grant.id}-{uuid.uuid4().hex}.{fmt}"
    try:
        with warehouse.session(folder / f"{target.stem}.tmp") as con:
            source = f"read_parquet({sql_string(snapshot)})" if snapshot else "(SELECT NULL AS payload LIMIT 0)"
            con.execute(f"CREATE TABLE export AS SELECT {', '.join(columns)} FROM {source}")
            count = con.execute("SELECT count(*) FROM export").fetchone()[0]
            options = "(FORMAT parquet)" if fmt == "parquet" else "(HEADER, DELIMITER ',')"
            # CSV is opened in spreadsheets: a formula in the data is written as text. Parquet is exact.
            out = "export" if fmt == "parquet" else "(SELECT " + ", ".join(
                f"{neutralise_sql(quote_identifier(name))} AS {quote_identifier(name)}" for name in
                (r[0] for r in con.execute("DESCRIBE export").fetchall())) + " FROM export)"
            con.execute(f"COPY {out} TO {sql_string(str(target))} {options}")
        target.chmod(0o600)
        record_read(session, actor=actor, action="share.export", target=f"resource:{resource.code}",
                    purpose=purpose, case_number=case_number,
                    detail={"grant": grant.id, "format": fmt, "records": count, "items": list(grant.items)})
    except BaseException:
        target.unlink(missing_ok=True)  # no answer, no file left behind
        raise
    finally:
        shutil.rmtree(folder / f"{target.stem}.tmp", ignore_errors=True)
    return target


def _grant_reader(session: Session, actor: Actor, resource_code: str, item: str) -> str | None:
    """For quality issue samples: how this actor may see an item of another department's resource."""
    grant = _grant_on(session, actor, resource_code) if actor.kind in ("user", "client") else None
    if grant is None or item not in grant.items:
        return None
    return "plain" if item in grant.plain_items else "masked"


quality_service.SOURCE_READERS.append(_grant_reader)
