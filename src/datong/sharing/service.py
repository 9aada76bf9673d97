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

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from datong.catalog.models import Resource
from datong.catalog.service import get_resource, refuse_withdrawn
from datong.quality import service as quality_service
from datong.db.base import utcnow
from datong.db.paging import Found, Window, containing, window
from datong.errors import DatongError, InvalidInput, NotFound
from datong.i18n import N_, Message, Term
from datong.store.models import Record, RecordKey
from datong.store.snapshots import last_snapshot
from datong.security.audit import append_event, record_read
from datong.security.authz import Actor, Target, authorize, is_allowed, service
from datong.security.models import ApiClient
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


# The hot read path runs statements built once (Core, with bound parameters), on the session's
# connection: building and compiling them per request cost more than the database work, and so did
# each further statement, so a read by key costs two: the resource with the caller's grant, and
# the records with the subjects they mention.
def _grant_clause(client: bool):
    clients = or_(Grant.client_id.is_(None), Grant.client_id == bindparam("client")) if client \
        else Grant.client_id.is_(None)
    return and_(Grant.resource_id == Resource.id, Resource.withdrawn_at.is_(None),
                Grant.consumer_id == bindparam("consumer"),
                Grant.revoked_at.is_(None), Grant.valid_from <= bindparam("now"), Grant.valid_until > bindparam("now"),
                clients)


def _view_query(where, client: bool):
    from datong.security.models import Department

    return (select(Resource.id, Resource.code, Resource.version, Department.name, Resource.attached_at,
                   Grant.id.label("grant_id"), Grant.items, Grant.plain_items)
            .join(Department, Department.id == Resource.provider_id)
            .outerjoin(Grant, _grant_clause(client)).where(where).order_by(Grant.id.desc()).limit(1))


def _records_query(many: bool):
    keys = Record.key.in_(bindparam("keys", expanding=True)) if many else Record.key == bindparam("key")
    return (select(Record.key, Record.payload, RecordKey.value)
            .outerjoin(RecordKey, and_(RecordKey.resource_id == Record.resource_id, RecordKey.record_key == Record.key))
            .where(Record.resource_id == bindparam("resource"), keys))


_BY_CODE, _BY_ID = Resource.code == bindparam("code"), Resource.id == bindparam("id")
_VIEW = {(by, client): _view_query(where, client) for by, where in (("code", _BY_CODE), ("id", _BY_ID))
         for client in (True, False)}
_RECORDS = {many: _records_query(many) for many in (True, False)}
_HITS = select(RecordKey.resource_id, RecordKey.record_key).where(RecordKey.value == bindparam("value"))


@dataclass(frozen=True)
class Readable:
    """A resource as one read sees it: its cached view, provider, last load and the caller's grant."""

    view: ResourceView
    provider: str
    last_updated: str | None
    grant: GrantView | None


def _readable(session: Session, actor: Actor, *, code: str | None = None, resource_id: int | None = None) -> Readable:
    """The resource (by code or id) and the caller's active grant on it, in one statement."""
    by, params = ("code", {"code": code.strip()}) if code is not None else ("id", {"id": resource_id})
    params.update(consumer=actor.department_id, now=utcnow(), client=actor.id)
    row = session.connection().execute(_VIEW[by, actor.kind == "client"], params).one_or_none()
    if row is None:
        get_resource(session, code or "")  # raises NotFound, worded as everywhere else
    views = session.info.setdefault("views", {})  # one cache per Database; an edit bumps the version
    view = views.get((row.id, row.version))
    if view is None:
        resource = get_resource(session, row.code)
        view = ResourceView(resource.id, resource.code, resource.name, resource.provider_id, tuple(
            ItemView(i.name, i.element.identifier if i.element else None, i.sensitivity) for i in resource.items))
        if len(views) > 10_000:
            views.clear()
        views[(row.id, row.version)] = view
    grant = GrantView(row.grant_id, tuple(row.items), frozenset(row.plain_items)) if row.grant_id else None
    return Readable(view, row.name, row.attached_at.isoformat(timespec="seconds") if row.attached_at else None, grant)


def _records(session: Session, resource_id: int, keys: list[str]) -> tuple[dict[str, dict], set[str]]:
    """The payloads of these keys' records, and every subject (ID number, credit code) they mention."""
    params = {"resource": resource_id, "keys": keys} if len(keys) != 1 else {"resource": resource_id, "key": keys[0]}
    found, subjects = {}, set()
    for key, payload, subject in session.connection().execute(_RECORDS[len(keys) != 1], params):
        if key not in found:
            found[key] = json.loads(payload)
        if subject is not None:
            subjects.add(subject)
    return found, subjects


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
def read_records(session: Session, actor: Actor, *, resource_code: str, keys: list[str], purpose: str,
                 case_number: str | None = None, items: list[str] | None = None) -> dict:
    purpose = required_purpose(purpose)
    limit = session.info.get("share_batch_limit", 1000)
    if len(keys) > limit:
        raise TooManyKeys(limit=limit)
    readable = _readable(session, actor, code=resource_code)
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
    normalised = list(dict.fromkeys(k.strip().upper() for k in keys if k.strip()))
    found, subjects = _records(session, view.id, normalised) if normalised else ({}, set())
    record_read(session, actor=actor, action="share.read", target=target, subjects=subjects, purpose=purpose,
                 case_number=case_number, detail={"grant": grant.id, "items": shown_items, "returned": len(found),
                                                  "client": actor.name if actor.kind == "client" else None})
    return {
        "resource": view.code, "source": readable.provider, "last_updated": readable.last_updated, "grant": grant.id,
        "records": [{"key": k, **_shape(view.items, grant, found[k], shown_items, masking_of(session))}
                    for k in normalised if k in found],
        "missing": [k for k in normalised if k not in found],
    }


@service(mutates=False, personal=True)
def subject_view(session: Session, actor: Actor, *, number: str, purpose: str,
                 case_number: str | None = None) -> list[dict]:
    """一号: every record about this citizen ID (or credit code) in the resources the caller may read."""
    purpose = required_purpose(purpose)
    authorize(actor, "share.read", Target("subject", None, None))
    value = number.strip().upper()
    connection = session.connection()
    hits = connection.execute(_HITS, {"value": value}).all()
    by_resource: dict[int, list[str]] = {}
    for resource_id, record_key in hits:
        by_resource.setdefault(resource_id, []).append(record_key)
    groups, grants = [], []
    for resource_id, record_keys in by_resource.items():
        readable = _readable(session, actor, resource_id=resource_id)
        view, grant = readable.view, readable.grant
        if grant is None:
            continue
        found, _ = _records(session, resource_id, record_keys)
        grants.append(grant.id)
        groups.append({"resource": view.code, "name": view.name, "source": readable.provider,
                       "last_updated": readable.last_updated,
                       "records": [{"key": k, **_shape(view.items, grant, payload, grant.items, masking_of(session))}
                                   for k, payload in found.items()]})
    record_read(session, actor=actor, action="share.subject", target="subject", subjects=[value] if groups else [],
                 purpose=purpose, case_number=case_number,
                 detail={"grants": grants, "resources": [g["resource"] for g in groups]})
    return groups


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
    grant = _readable(session, actor, resource_id=resource.id).grant
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
    grant = _readable(session, actor, code=resource_code).grant if actor.kind in ("user", "client") else None
    if grant is None or item not in grant.items:
        return None
    return "plain" if item in grant.plain_items else "masked"


quality_service.SOURCE_READERS.append(_grant_reader)
