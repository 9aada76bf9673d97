"""Holders and the use of their licences (一证通办): a department uses a holder's licences in
force with the holder's authorisation (授权使用) or a sharing grant on the licence type; every use is
audited, and the holder sees their licences, authorisations and each use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, literal_column, select
from sqlalchemy.orm import Session

from datong.db.base import utcnow
from datong.db.snapshot import Prepared, json_value, snapshot_of
from datong.db.writes import add_as_loaded
from datong.errors import InvalidInput, NotFound
from datong.i18n import N_, Term
from datong.licenses.models import VALID, Consent, Licence, LicenceType
from datong.licenses.service import (
    HOLDER_KINDS,
    NoAuthorisation,
    kept_licence_types,
    licence_type,
    list_licence_types,
)
from datong.security import masking
from datong.security.audit import append_event, record_read
from datong.security.authz import Actor, Target, authorize, service
from datong.security.models import Department

# The use of a holder's licences reads at the driver level (datong.db.snapshot), as sharing's
# reads do: the window uses them with every application, and through the ORM these small
# statements cost several times what the database does for them.
# The holder indexes lead with the holder's kind: a lookup by key names the kinds (every kind, or
# the licence type's), or it scans every licence or authorisation.
_CONSENTS = Prepared(select(Consent.id, Consent.types).where(
    Consent.holder_kind.in_([literal_column(f"'{k}'") for k in HOLDER_KINDS]),  # our constants, written in the SQL
    Consent.holder_key == bindparam("key"), Consent.department_id == bindparam("department"),
    Consent.withdrawn_at.is_(None), Consent.expires_at > bindparam("now")).order_by(Consent.id))
_IN_FORCE = Prepared(select(Licence.identifier, Licence.version, Licence.status, Licence.holder_key, Licence.holder_name,
                            Licence.document).where(Licence.holder_kind == bindparam("kind"),
                                                    Licence.holder_key == bindparam("key"),
                                                    Licence.type_id == bindparam("type"),
                                                    Licence.status == bindparam("status")).order_by(Licence.id))


@dataclass(frozen=True)
class _InForce:
    """A licence in force as a use reads it: what ``_licence_out`` and ``index_row`` need."""

    identifier: str
    version: int
    status: str
    holder_key: str
    holder_name: str
    document: str
    type: LicenceType


def _consent_for(session: Session, actor: Actor, holder_key: str, kind: LicenceType) -> int | None:
    """The id of the holder's authorisation in force for this department and licence type."""
    snapshot = snapshot_of(session)
    for consent, types in snapshot.rows(_CONSENTS, {"key": holder_key, "department": actor.department_id,
                                                    "now": snapshot.time(utcnow())}):
        types = json_value(types)
        if not types or kind.code in types:
            return consent
    return None


def _in_force(session: Session, key: str, kind: LicenceType) -> list[_InForce]:
    return [_InForce(*row, kind) for row in snapshot_of(session).rows(
        _IN_FORCE, {"kind": kind.holder_kind, "key": key, "type": kind.id, "status": VALID})]


def _licence_out(licence: Licence | _InForce, items: list[str] | None = None) -> dict:
    doc = json.loads(licence.document)
    data = doc["data"] if items is None else {k: v for k, v in doc["data"].items() if k in items}
    return {"identifier": licence.identifier, "type": licence.type.name, "type_code": licence.type.code,
            "version": licence.version, "status": licence.status, "issuer": doc["issuer"]["name"],
            "holder_key": licence.holder_key, "holder_name": licence.holder_name,
            "valid_from": doc["valid_from"], "valid_until": doc["valid_until"], "data": data,
            "issued_at": doc["issued_at"]}


def _granted_out(session: Session, kind: LicenceType, licence: Licence | _InForce, grant) -> dict:
    """The licence as the type's resource shows it under ``grant``: granted items only, masked
    unless the grant allows them in plain text (the sharing domain's own shaping)."""
    from datong.licenses.service import index_row
    from datong.sharing.service import ItemView, _shape, masking_of

    items = tuple(ItemView(i.name, i.element.identifier if i.element else None, i.sensitivity)
                  for i in kind.resource.items)
    shaped = _shape(items, grant, index_row(licence), grant.items, masking_of(session))
    out = _licence_out(licence, [])
    out["data"] = {f["name"]: shaped[f["name"]] for f in kind.fields if f["name"] in shaped}
    out["holder_name"] = shaped.get("持证主体名称", masking.mask(licence.holder_name, "name"))
    return out


@service(mutates=False, personal=True)
def use_holder_licences(session: Session, actor: Actor, *, holder_key: str, purpose: str,
                        case_number: str | None = None, type_code: str | None = None,
                        type_codes: list[str] | None = None) -> list[dict]:
    """一证通办: a holder's licences in force, for a department that holds the holder's
    authorisation or a sharing grant on the licence type. With the holder's authorisation the
    licence is shown whole; under a grant, only the granted items, masked as the grant says, as any
    shared record is. Every use is audited, and the holder sees it (``my_licences``)."""
    from datong.sharing.service import _grant_on, required_purpose

    purpose = required_purpose(purpose)
    authorize(actor, "licence.use", Target("holder", holder_key, actor.department_id))
    key = holder_key.strip().upper()
    if type_code:
        kinds = [licence_type(session, type_code)]
    else:  # the types asked for (an application's materials), or every type
        kinds = kept_licence_types(session, type_codes) if type_codes else list_licence_types(session)
    shown, via = [], {}
    for kind in kinds:
        consent = _consent_for(session, actor, key, kind) if actor.kind in ("user", "client") else None
        if consent is None and type_codes:  # a kept type is detached: the grant's items load with this one
            kind = licence_type(session, kind.code)
        grant = _grant_on(session, actor, kind.resource.code) if consent is None and kind.resource else None
        if consent is None and grant is None:
            if type_code:
                raise NoAuthorisation(department=actor.department_code or actor.name, what=kind.name)
            continue
        via[kind.code] = {"consent": consent} if consent is not None else {"grant": grant.id}
        for lic in _in_force(session, key, kind):
            shown.append(_licence_out(lic) if consent is not None else _granted_out(session, kind, lic, grant))
    if not via:
        raise NoAuthorisation(department=actor.department_code or actor.name, what=Term(N_("any licence type")))
    record_read(session, actor=actor, action="licence.use", target=f"holder:{key}", subjects=[key], purpose=purpose,
                case_number=case_number, detail={"via": via, "licences": [s["identifier"] for s in shown]})
    return shown


_DEPARTMENT = Prepared(select(Department.id, Department.code).where(Department.code == bindparam("code")))


@service(mutates=True)
def give_consent(session: Session, actor: Actor, *, holder_key: str, department: str, purpose: str,
                 days: int = 30, types: list[str] | None = None) -> Consent:
    """The holder authorises a department to use their licences: online (the holder acting), or
    at the window (a clerk of that department recording it in the holder's presence)."""
    found = snapshot_of(session).rows(_DEPARTMENT, {"code": department})
    if not found:
        raise NotFound(what=Term(N_("Department")), key=department)
    dept_id, dept_code = found[0]
    key = holder_key.strip().upper()
    if actor.kind == "holder":
        authorize(actor, "licence.own", Target("holder", key))
    else:
        authorize(actor, "licence.consent", Target("holder", key, dept_id))
    if not purpose.strip() or not 1 <= days <= 366:
        raise InvalidInput(field="purpose", reason=Term(N_("say what for, and for 1 to 366 days")))
    codes = [licence_type(session, t).code for t in types or []]
    consent = Consent(holder_kind="person" if len(key) == 18 and key[:17].isdigit() else "entity", holder_key=key,
                      department_id=dept_id, types=codes, purpose=purpose.strip()[:500],
                      expires_at=utcnow() + timedelta(days=days), given_via="online" if actor.kind == "holder" else "window",
                      recorded_by=actor.name)
    add_as_loaded(session, [consent])  # every intake at a window records one
    append_event(session, actor=actor, action="licence.consent", target=f"holder:{key}", subjects=[key],
                 purpose=consent.purpose, detail={"department": dept_code, "types": codes, "days": days,
                                                  "via": consent.given_via, "consent": consent.id})
    return consent


@service(mutates=True)
def withdraw_consent(session: Session, actor: Actor, *, consent_id: int) -> Consent:
    consent = session.get(Consent, consent_id)
    if consent is None:
        raise NotFound(what=Term(N_("Authorisation")), key=str(consent_id))
    if actor.kind == "holder":
        authorize(actor, "licence.own", Target("holder", consent.holder_key))
    else:
        authorize(actor, "licence.consent", Target("holder", consent.holder_key, consent.department_id))
    consent.withdrawn_at = consent.withdrawn_at or utcnow()
    append_event(session, actor=actor, action="licence.consent.withdraw", target=f"holder:{consent.holder_key}",
                 subjects=[consent.holder_key], detail={"consent": consent.id})
    return consent


@service(mutates=False, personal=True)
def my_licences(session: Session, actor: Actor, *, holder_key: str) -> dict:
    """The holder's own licences (every version), authorisations and who used the licences."""
    from datong.security.models import AuditEvent, AuditSubject

    key = holder_key.strip().upper()
    authorize(actor, "licence.own", Target("holder", key))
    licences = [_licence_out(lic) for lic in session.scalars(
        select(Licence).where(Licence.holder_kind.in_(HOLDER_KINDS), Licence.holder_key == key).order_by(Licence.family, Licence.version))]
    consents = [{"id": c.id, "department": c.department.name, "types": c.types, "purpose": c.purpose,
                 "expires_at": c.expires_at.isoformat(), "via": c.given_via,
                 "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None}
                for c in session.scalars(select(Consent).where(Consent.holder_kind.in_(HOLDER_KINDS), Consent.holder_key == key).order_by(Consent.id))]
    uses = [{"at": e.occurred_at.isoformat(), "by": e.actor, "department": e.actor_department, "purpose": e.purpose,
             "case_number": e.case_number, "licences": (e.detail or {}).get("licences", [])}
            for e in session.scalars(select(AuditEvent).join(AuditSubject, AuditSubject.seq == AuditEvent.seq)
                                     .where(AuditSubject.subject == key, AuditEvent.action == "licence.use")
                                     .order_by(AuditEvent.seq.desc()).limit(200))]
    record_read(session, actor=actor, action="licence.own", target=f"holder:{key}", subjects=[key],
                purpose="持证人查看本人证照", detail={"licences": len(licences)})
    return {"licences": licences, "consents": consents, "uses": uses}
