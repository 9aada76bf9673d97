"""The licence library's rules: licence types, issuing (one, a batch), reissuing (换发), the
lifecycle, the status list, verifying, and using a holder's licences with their consent or a
sharing grant on the licence type."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session, lazyload

from datong.catalog.models import Resource
from datong.catalog.schemas import ResourceIn
from datong.codes import validate_credit_code, validate_id_number
from datong.codes.licence_id import make_licence_id, parse_licence_id
from datong.codes.verdict import REASONS
from datong.db.base import utcnow
from datong.db.keep import kept_by_key, stamps_by_code_or_name
from datong.db.paging import Found, Window, window
from datong.db.snapshot import Prepared, snapshot_of
from datong.errors import Conflict, DatongError, InvalidInput, NotFound
from datong.i18n import N_, Message, Term
from datong.licenses import keys, signing
from datong.licenses.models import (
    REVOKED,
    SUPERSEDED,
    SUSPENDED,
    VALID,
    Counter,
    Licence,
    LicenceEvent,
    LicenceType,
    Seal,
)
from datong.security.audit import append_event, record_read
from datong.security.authz import Actor, Target, authorize, service
from datong.security.models import Department
from datong.security.roles import Role

LICENCE = Term(N_("Licence"))
LICENCE_TYPE = Term(N_("Licence type"))
HOLDER_KINDS = ("person", "entity")
#: The index items every licence type's catalog resource has, before the type's own fields.
INDEX_ITEMS = ("证照标识", "持证主体代码", "持证主体名称", "证照状态", "有效期起", "有效期至", "颁发机构")
BATCH_LIMIT = 1000


class NoSeal(DatongError):
    status = 409
    code = "no_seal"
    message = N_("{department} has no seal in force to sign {what} with: create one under Seals first.")


class NotAnIssuer(DatongError):
    status = 403
    code = "not_an_issuer"
    message = N_("{department} is not an issuing department of {what}; the bureau can add it to the licence type.")


class WrongState(DatongError):
    status = 409
    code = "wrong_state"
    message = N_("Licence {key} is {state}; it cannot be {action}.")


class NoAuthorisation(DatongError):
    status = 403
    code = "no_authorisation"
    message = N_("{department} holds neither the holder's authorisation nor a grant on {what}: ask the holder to "
                 "authorise the use (at the window or online), or request the licence type in the catalog.")


# -- licence types -------------------------------------------------------------------------------

@dataclass(frozen=True)
class TypeSpec:
    code: str
    name: str
    ministry: str
    issuers: list[str]
    holder_kind: str
    fields: list[dict]
    valid_years: int | None = None
    layout: dict | None = None
    source: str | None = None  # resource code to issue from in bulk
    mapping: dict | None = None  # {"holder_key": item, "holder_name": item, "fields": {field: item}}


def _check_spec(session: Session, spec: TypeSpec) -> list[Department]:
    verdict = validate_credit_code(spec.code[:18])
    if len(spec.code) != 21 or not spec.code[18:].isdigit() or not verdict.valid:
        raise InvalidInput(field="code", reason=Term(N_(
            "a licence type code is the defining authority's credit code and a 3-digit sequence (GB/T 36902)")))
    if spec.holder_kind not in HOLDER_KINDS:
        raise InvalidInput(field="holder_kind", reason=Term(N_("a holder is a person or an entity")))
    names = [f.get("name", "").strip() for f in spec.fields]
    if not names or "" in names or len(set(names)) != len(names) or set(names) & set(INDEX_ITEMS):
        raise InvalidInput(field="fields", reason=Term(N_("each field needs a name of its own")))
    issuers = list(session.scalars(select(Department).where(Department.code.in_(spec.issuers))))
    missing = sorted(set(spec.issuers) - {d.code for d in issuers})
    if missing or not issuers:
        raise InvalidInput(field="issuers", reason=Message(N_("unknown departments: {codes}"),
                                                           codes="、".join(missing) or "-"))
    return issuers


def _index_items(spec: TypeSpec) -> list[dict]:
    person = spec.holder_kind == "person"
    items = [{"name": "证照标识", "element": "DE0019", "key": "record"},
             {"name": "持证主体代码", "element": "DE0001" if person else "DE0010", "key": spec.holder_kind},
             {"name": "持证主体名称", "element": "DE0002" if person else "DE0011"},
             {"name": "证照状态", "data_type": "string", "note": "valid/suspended/revoked/superseded"},
             {"name": "有效期起", "data_type": "date", "note": "电子证照有效期"},
             {"name": "有效期至", "data_type": "date", "note": "电子证照有效期"},
             {"name": "颁发机构", "data_type": "string", "note": "颁发机构名称"}]
    for f in spec.fields:
        item = {"name": f["name"], "element": f.get("element") or None}
        if not item["element"]:
            item |= {"data_type": "string", "note": "证照照面信息"}
        items.append(item)
    return items


def _type_resource(session: Session, actor: Actor, spec: TypeSpec, existing: Resource | None) -> Resource:
    from datong.catalog import service as catalog
    from datong.registry.service import bureau_department

    data = ResourceIn(
        name=f"电子证照·{spec.name}", provider=bureau_department(session).code,
        summary=f"电子证照库中的{spec.name}（{spec.ministry}主管）：照面信息与证照状态；使用须持证人授权或经共享审批。",
        category="1", class_code="03", theme="电子证照", keywords=["电子证照", spec.name],
        sharing_type="conditional", sharing_condition="办理政务服务事项时核验证照，须说明事由和案卷号",
        sharing_methods=["api", "subscription"], open_type="none", update_cycle="realtime", items=_index_items(spec))
    if existing is None:
        return catalog.create_resource(session, actor, data=data)
    return catalog.update_resource(session, actor, code=existing.code,
                                   data=data.model_copy(update={"code": existing.code}))[0]


def _source(session: Session, spec: TypeSpec) -> Resource | None:
    if not spec.source:
        return None
    resource = session.scalar(select(Resource).where(Resource.code == spec.source))
    if resource is None:
        raise NotFound(what=Term(N_("Resource")), key=spec.source)
    mapping = spec.mapping or {}
    items = {i.name for i in resource.items}
    wanted = [mapping.get("holder_key"), mapping.get("holder_name"), *(mapping.get("fields") or {}).values()]
    unknown = [w for w in wanted if w not in items]
    if unknown:
        raise InvalidInput(field="mapping", reason=Message(N_("{resource} has no item {items}"),
                                                           resource=resource.name, items="、".join(map(str, unknown))))
    return resource


@service(mutates=True)
def save_licence_type(session: Session, actor: Actor, *, spec: TypeSpec) -> LicenceType:
    """Create or update a licence type (证照目录) and its catalog resource."""
    authorize(actor, "licence.type", Target("licence_type", spec.code))
    issuers = _check_spec(session, spec)
    source = _source(session, spec)
    row = session.scalar(select(LicenceType).where(LicenceType.code == spec.code))
    clash = session.scalar(select(LicenceType.id).where(LicenceType.name == spec.name, LicenceType.code != spec.code))
    if clash is not None:
        raise Conflict(what=LICENCE_TYPE, key=spec.name)
    if row is None:
        row = LicenceType(code=spec.code, created_by=actor.name)
        session.add(row)
    elif row.holder_kind != spec.holder_kind and session.scalar(select(Licence.id).where(Licence.type_id == row.id).limit(1)):
        # its licences name their holders by ID number or by credit code, and are found by that kind
        raise InvalidInput(field="holder_kind", reason=Term(
            N_("licences of this type are issued already, so its holders' kind stays; define a new type for the other kind")))
    row.name, row.ministry, row.holder_kind = spec.name, spec.ministry, spec.holder_kind
    row.issuers = [d.code for d in issuers]
    row.fields = [{"name": f["name"].strip(), "element": f.get("element") or None,
                   "required": bool(f.get("required", True))} for f in spec.fields]
    row.valid_years, row.layout = spec.valid_years, spec.layout or {"title": spec.name}
    row.source_resource_id = source.id if source else None
    row.source_mapping = spec.mapping or {}
    row.resource = _type_resource(session, actor, spec, row.resource)
    session.flush()
    append_event(session, actor=actor, action="licence.type", target=f"licence_type:{row.code}",
                 detail={"name": row.name, "issuers": row.issuers, "source": spec.source})
    return row


def licence_type(session: Session, code: str) -> LicenceType:
    # its resources load when used: a use under the holder's authorisation needs neither
    row = session.scalar(select(LicenceType).options(lazyload(LicenceType.resource), lazyload(LicenceType.source))
                         .where(or_(LicenceType.code == code, LicenceType.name == code)))
    if row is None:
        raise NotFound(what=LICENCE_TYPE, key=code)
    return row


_TYPE_STAMPS = stamps_by_code_or_name(LicenceType)


def kept_licence_types(session: Session, codes: list[str]) -> list[LicenceType]:
    """Licence types by code or name, kept per process by version (``datong.db.keep``): every
    prefill reads the types an application's materials come from. Detached, with their resources
    loaded: read them, never change them."""
    rows, missing = kept_by_key(session, "licence_types", LicenceType, _TYPE_STAMPS, codes)
    if missing is not None:
        raise NotFound(what=LICENCE_TYPE, key=missing)
    return rows


def list_licence_types(session: Session) -> list[LicenceType]:
    return list(session.scalars(select(LicenceType).order_by(LicenceType.code)))


# -- numbers -------------------------------------------------------------------------------------

_TAKE = Prepared(update(Counter.__table__).where(Counter.__table__.c.name == bindparam("counter"))
                 .values(next=Counter.__table__.c.next + bindparam("count")).returning(Counter.__table__.c.next))


def take_numbers(session: Session, name: str, count: int) -> int:
    """The first of ``count`` consecutive numbers from counter ``name`` (a short write, at the
    driver level: every licence issued and every case opened takes one)."""
    updated = snapshot_of(session).write(_TAKE, {"counter": name, "count": count})
    if not updated:
        session.add(Counter(name=name, next=1 + count))
        session.flush()
        return 1
    return updated[0][0] - count


# -- issuing -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Draft:
    """A licence before it is signed."""

    holder_key: str
    holder_name: str
    data: dict
    valid_from: date | None = None
    valid_until: date | None = None
    source_key: str | None = None
    source_hash: str | None = None


def check_draft(kind: LicenceType, draft: Draft, row: int | None = None) -> Draft:
    """A draft with its holder's key normalised, or InvalidInput naming the field (and row)."""
    where = f"[{row}] " if row is not None else ""
    verdict = (validate_id_number if kind.holder_kind == "person" else validate_credit_code)(draft.holder_key or "")
    if not verdict.valid:
        raise InvalidInput(field=f"{where}holder_key", reason=Message(REASONS[verdict.reason], **verdict.params))
    if not (draft.holder_name or "").strip():
        raise InvalidInput(field=f"{where}holder_name", reason=Term(N_("the holder's name is required")))
    names = {f["name"] for f in kind.fields}
    unknown = sorted(set(draft.data) - names)
    if unknown:
        raise InvalidInput(field=f"{where}data", reason=Message(N_("{type} has no field {fields}"), type=kind.name,
                                                                fields="、".join(unknown)))
    missing = [f["name"] for f in kind.fields if f["required"] and draft.data.get(f["name"]) in (None, "")]
    if missing:
        raise InvalidInput(field=f"{where}data", reason=Message(N_("required fields are missing: {fields}"),
                                                                fields="、".join(missing)))
    data = {f["name"]: ("" if draft.data.get(f["name"]) is None else str(draft.data.get(f["name"])))
            for f in kind.fields}
    return Draft(verdict.normalised or draft.holder_key, draft.holder_name.strip(), data, draft.valid_from,
                 draft.valid_until, draft.source_key, draft.source_hash)


@dataclass(frozen=True)
class Signer:
    """What a batch of licences of one type from one issuer is signed with."""

    kind: LicenceType
    issuer: Department
    seal: Seal
    key_id: int
    kid: str
    algorithm: str
    private: object


def signer_for(session: Session, kind: LicenceType, issuer: Department) -> Signer:
    if issuer.code not in kind.issuers:
        raise NotAnIssuer(department=issuer.name, what=kind.name)
    today = date.today()
    seal = session.scalar(select(Seal).where(Seal.department_id == issuer.id, Seal.active.is_(True),
                                             Seal.valid_from <= today, Seal.valid_until >= today)
                          .order_by(Seal.id).limit(1))
    if seal is None:
        raise NoSeal(department=issuer.name, what=kind.name)
    key = keys.current_key(session, seal)
    return Signer(kind, issuer, seal, key.id, key.kid, key.algorithm, keys.private_key(session, key))


def document_for(signer: Signer, draft: Draft, identifier: str, version: int, issued_at: datetime,
                 status_index: int) -> dict:
    start = draft.valid_from or issued_at.date()
    until = draft.valid_until or (start.replace(year=start.year + signer.kind.valid_years)
                                  if signer.kind.valid_years else None)
    return {"id": identifier, "type": {"code": signer.kind.code, "name": signer.kind.name}, "version": version,
            "holder": {"kind": signer.kind.holder_kind, "key": draft.holder_key, "name": draft.holder_name},
            "issuer": {"code": signer.issuer.code, "name": signer.issuer.name}, "data": draft.data,
            "valid_from": start.isoformat(), "valid_until": until.isoformat() if until else None,
            "issued_at": issued_at.isoformat(timespec="seconds"),
            "seal": {"kid": signer.kid, "algorithm": signer.algorithm, "name": signer.seal.name},
            "status": {"index": status_index, "list": "/api/v1/licences/status"}}


def signed_rows(signer: Signer, drafts: list[Draft], serial_from: int, status_from: int, issued_by: str,
                versions: list[tuple[str, int]] | None = None) -> list[dict]:
    """Sign each draft (the one per-licence step that cannot be vectorised): rows ready to insert.
    ``versions`` gives (serial, version) for reissues; otherwise serials count up from ``serial_from``."""
    now, rows = utcnow(), []
    for i, draft in enumerate(drafts):
        serial, version = versions[i] if versions else (f"{serial_from + i:08d}", 1)
        identifier = make_licence_id(signer.kind.code, signer.issuer.code, serial, version)
        doc = document_for(signer, draft, identifier, version, now, status_from + i)
        rows.append({"identifier": identifier, "status_index": status_from + i,
                     "family": identifier.split(".", 5)[5].rsplit(".", 2)[0], "version": version,
                     "type_id": signer.kind.id, "issuer_id": signer.issuer.id, "holder_kind": signer.kind.holder_kind,
                     "holder_key": draft.holder_key, "holder_name": draft.holder_name,
                     "valid_from": date.fromisoformat(doc["valid_from"]),
                     "valid_until": date.fromisoformat(doc["valid_until"]) if doc["valid_until"] else None,
                     "document": signing.canonical(doc), "key_id": signer.key_id, "status": VALID,
                     "source_key": draft.source_key, "source_hash": draft.source_hash, "issued_by": issued_by,
                     "issued_at": now, "changed_at": now})
    for row, signature in zip(rows, _signatures(signer, [r["document"] for r in rows])):
        row["document"], row["signature"] = row["document"].decode(), signing.b64(signature)
    return rows


#: Tongsuo releases the GIL while it signs: a large batch of SM2 signatures uses every core.
#: (Ed25519 and P-256 sign faster than a thread hand-off, so they stay in this thread.)
PARALLEL_FROM = 256


def _signatures(signer: Signer, payloads: list[bytes]) -> list[bytes]:
    def one(data: bytes) -> bytes:
        return signing.sign(signer.private, signer.algorithm, data)

    workers = min(os.cpu_count() or 1, 4)
    if signer.algorithm != signing.SM2 or len(payloads) < PARALLEL_FROM or workers < 2:
        return [one(p) for p in payloads]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, payloads, chunksize=64))


def _issuer(session: Session, actor: Actor, issuer: str | None, kind: LicenceType) -> Department:
    """The named issuer; else the caller's department; else the type's only issuer."""
    code = issuer or actor.department_code or (kind.issuers[0] if len(kind.issuers) == 1 else None)
    dept = session.scalar(select(Department).where(Department.code == code)) if code else None
    if dept is None:
        raise InvalidInput(field="issuer", reason=Term(N_("name the issuing department by its credit code")))
    return dept


@service(mutates=True)
def issue_licences(session: Session, actor: Actor, *, type_code: str, drafts: list[Draft],
                   issuer: str | None = None) -> list[Licence]:
    """Issue one licence or a batch (all or none), signed with the issuer's seal."""
    kind = licence_type(session, type_code)
    dept = _issuer(session, actor, issuer, kind)
    authorize(actor, "licence.issue", Target("licence_type", kind.code, dept.id))
    if not 1 <= len(drafts) <= BATCH_LIMIT:
        raise InvalidInput(field="licences", reason=Message(N_("send 1 to {limit} licences at once"),
                                                            limit=BATCH_LIMIT))
    checked = [check_draft(kind, d, i if len(drafts) > 1 else None) for i, d in enumerate(drafts)]
    signer = signer_for(session, kind, dept)
    serial = take_numbers(session, f"serial:{kind.code}:{dept.code}", len(checked))
    status = take_numbers(session, "status", len(checked))
    rows = signed_rows(signer, checked, serial, status, actor.name)
    licences = [Licence(**row) for row in rows]
    session.add_all(licences)
    session.flush()
    for licence in licences:
        session.add(LicenceEvent(licence_id=licence.id, action="issued", actor=actor.name))
    notify(session, kind, licences, "inserted")
    append_event(session, actor=actor, action="licence.issue", target=f"licence_type:{kind.code}",
                 subjects=[lic.holder_key for lic in licences],
                 detail={"identifiers": [lic.identifier for lic in licences][:50], "count": len(licences)})
    return licences


def get_licence(session: Session, identifier: str) -> Licence:
    """A licence by its identifier, in the canonical form or a province's lenient one."""
    verdict = parse_licence_id(identifier)
    wanted = verdict.normalised if verdict.valid else identifier.strip()
    found = session.scalar(select(Licence).where(Licence.identifier == wanted))
    if found is None:
        raise NotFound(what=LICENCE, key=identifier)
    return found


def _may_manage(actor: Actor, licence: Licence) -> None:
    authorize(actor, "licence.manage", Target("licence", licence.identifier, licence.issuer_id))


@service(mutates=True)
def reissue_licence(session: Session, actor: Actor, *, identifier: str, data: dict | None = None,
                    holder_name: str | None = None, reason: str = "") -> Licence:
    """换发: a new version of the licence with the changes; the old version is kept, superseded."""
    old = get_licence(session, identifier)
    _may_manage(actor, old)
    if old.status in (REVOKED, SUPERSEDED):
        raise WrongState(key=old.identifier, state=old.status, action="reissued")
    before = json.loads(old.document)
    draft = check_draft(old.type, Draft(old.holder_key, holder_name or old.holder_name,
                                        before["data"] | (data or {}), source_key=old.source_key,
                                        source_hash=old.source_hash))
    fresh = _supersede(session, actor, old, draft, reason)
    append_event(session, actor=actor, action="licence.reissue", target=f"licence:{old.identifier}",
                 subjects=[old.holder_key], detail={"new": fresh.identifier, "reason": reason[:500]})
    return fresh


def _supersede(session: Session, actor: Actor, old: Licence, draft: Draft, reason: str) -> Licence:
    signer = signer_for(session, old.type, old.issuer)
    serial = old.family.rsplit(".", 1)[1]
    status = take_numbers(session, "status", 1)
    row = signed_rows(signer, [draft], 0, status, actor.name, versions=[(serial, old.version + 1)])[0]
    fresh = Licence(**row)
    session.add(fresh)
    old.status, old.status_reason, old.changed_at = SUPERSEDED, f"→ {fresh.identifier}", utcnow()
    session.flush()
    session.add_all([LicenceEvent(licence_id=old.id, action="superseded", reason=reason[:500] or None,
                                  actor=actor.name),
                     LicenceEvent(licence_id=fresh.id, action="issued", reason=reason[:500] or None, actor=actor.name)])
    notify(session, old.type, [old], "updated")
    notify(session, old.type, [fresh], "inserted")
    return fresh


#: action → (states it may start from, the state it leaves, whether a reason is required)
TRANSITIONS = {"revoke": ((VALID, SUSPENDED), REVOKED, True), "suspend": ((VALID,), SUSPENDED, True),
               "restore": ((SUSPENDED,), VALID, False)}


@service(mutates=True)
def change_status(session: Session, actor: Actor, *, identifier: str, action: str, reason: str = "") -> Licence:
    """Revoke (吊销/注销), suspend or restore a licence; audited, and subscribers are told."""
    licence = get_licence(session, identifier)
    _may_manage(actor, licence)
    if action not in TRANSITIONS:
        raise InvalidInput(field="action", reason=Term(N_("use revoke, suspend or restore")))
    starts, ends, needs_reason = TRANSITIONS[action]
    if licence.status not in starts:
        raise WrongState(key=licence.identifier, state=licence.status, action=action)
    if needs_reason and not reason.strip():
        raise InvalidInput(field="reason", reason=Term(N_("say why, for the holder and the record")))
    licence.status, licence.status_reason, licence.changed_at = ends, reason.strip()[:500] or None, utcnow()
    session.add(LicenceEvent(licence_id=licence.id, action=action, reason=reason.strip()[:500] or None,
                             actor=actor.name))
    notify(session, licence.type, [licence], "updated")
    append_event(session, actor=actor, action=f"licence.{action}", target=f"licence:{licence.identifier}",
                 subjects=[licence.holder_key], detail={"reason": reason.strip()[:500]})
    return licence


# -- what subscribers, grant holders and the holder see ------------------------------------------

def index_row(licence: Licence | dict) -> dict:
    """A licence as its type's catalog resource shows it (the items of INDEX_ITEMS, then the fields)."""
    row = licence if isinstance(licence, dict) else {c: getattr(licence, c) for c in
                                                     ("identifier", "holder_key", "holder_name", "status", "document")}
    doc = json.loads(row["document"])
    return {"证照标识": row["identifier"], "持证主体代码": row["holder_key"], "持证主体名称": row["holder_name"],
            "证照状态": row["status"], "有效期起": doc["valid_from"], "有效期至": doc["valid_until"],
            "颁发机构": doc["issuer"]["name"], **doc["data"]}


def notify(session: Session, kind: LicenceType, licences: list[Licence] | list[dict], event: str) -> int:
    """Queue a delivery of each licence's index row, shaped by the subscriber's grant, for every
    active subscription to the licence type (the sharing worker sends them, signed)."""
    from datong.sharing.subscriptions import active_subscriptions, queue_change

    if kind.resource_id is None:
        return 0
    rows = [index_row(lic) for lic in licences]
    return sum(queue_change(session, sub, event=event, key=row["证照标识"], subject=row["持证主体代码"], row=row,
                            extra={"licence_type": kind.code, "status": row["证照状态"]})
               for sub in active_subscriptions(session, kind.resource_id) for row in rows)


# -- staff views ---------------------------------------------------------------------------------

@service(mutates=False, personal=True)
def list_licences(session: Session, actor: Actor, *, type_code: str | None = None, holder: str | None = None,
                  status: str | None = None, page: Window | None = None) -> Found[Licence]:
    """Issued licences (the bureau and auditors: all; a department: those it issued), audited."""
    authorize(actor, "licence.read", Target("licence", None, actor.department_id))
    stmt = select(Licence).order_by(Licence.id.desc())
    if not (actor.kind == "system" or actor.has(Role.BUREAU_ADMIN, Role.AUDITOR)):
        stmt = stmt.where(Licence.issuer_id == actor.department_id)
    if type_code:
        stmt = stmt.where(Licence.type_id == licence_type(session, type_code).id)
    if holder:
        stmt = stmt.where(or_(Licence.holder_key == holder.strip().upper(), Licence.holder_name == holder.strip()))
    if status:
        stmt = stmt.where(Licence.status == status)
    found = window(session, stmt, page or Window())
    record_read(session, actor=actor, action="licence.list", target="licences",
                subjects=sorted({lic.holder_key for lic in found}), purpose="证照管理",
                detail={"type": type_code, "holder": bool(holder), "status": status, "returned": len(found)})
    return found




@service(mutates=False, personal=True)
def read_licence(session: Session, actor: Actor, *, identifier: str) -> tuple[Licence, list[LicenceEvent], list]:
    """A licence with its versions and history, for its issuer, the bureau or an auditor; audited."""
    licence = get_licence(session, identifier)
    authorize(actor, "licence.read", Target("licence", licence.identifier, licence.issuer_id))
    history = list(session.scalars(select(LicenceEvent).join(Licence, Licence.id == LicenceEvent.licence_id)
                                   .where(Licence.family == licence.family).order_by(LicenceEvent.id)))
    versions = list(session.scalars(select(Licence).where(Licence.family == licence.family)
                                    .order_by(Licence.version)))
    record_read(session, actor=actor, action="licence.read", target=f"licence:{licence.identifier}",
                subjects=[licence.holder_key], purpose="证照管理")
    return licence, history, versions


def licence_counts(session: Session) -> dict[str, dict[str, int]]:
    """Licences per type and state (no personal data)."""
    counts: dict[str, dict[str, int]] = {}
    for name, state, n in session.execute(select(LicenceType.name, Licence.status, func.count())
                                          .join(Licence, Licence.type_id == LicenceType.id)
                                          .group_by(LicenceType.name, Licence.status)):
        counts.setdefault(name, {})[state] = n
    return counts
