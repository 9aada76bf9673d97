"""The licence library's API: licence types, seals, issuing, the lifecycle, downloads (PDF, signed
JSON, Verifiable Credential), verifying (public), the published keys and status list (public), and
using a holder's licences with their authorisation."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from datong.api.deps import ActorDep, IdPath, SessionDep
from datong.db.paging import Window
from datong.errors import DatongError
from datong.i18n import N_
from datong.licenses import documents, holders, keys, render, service, verifying
from datong.licenses.models import Licence, Seal
from datong.sharing.api import case_from, purpose_from

router = APIRouter(tags=["licences"])
MAX_PRESENTED = 5 * 1024 * 1024  # a licence PDF is tens of kilobytes
Purpose = Annotated[str | None, Header(description="Why you use it (percent-encoded UTF-8)")]
CaseNo = Annotated[str | None, Header(description="The application or case number behind the use")]


def base_url(request: Request) -> str:
    return request.app.state.database.sessions.kw["info"]["public_url"]


class FieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    element: str | None = Field(default=None, max_length=16)
    required: bool = True


class LayoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, max_length=50, description="Printed title; the type's name by default")
    colour: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$", description="Frame colour")
    note: str | None = Field(default=None, max_length=300, description="Printed under the fields")


class TypeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    ministry: str = Field(min_length=1, max_length=100)
    issuers: list[str] = Field(min_length=1, max_length=200, description="Credit codes of issuing departments")
    holder_kind: Literal["person", "entity"]
    fields: list[FieldIn] = Field(min_length=1, max_length=60)
    valid_years: int | None = Field(default=None, ge=1, le=100, description="None: valid until revoked")
    layout: LayoutIn | None = None
    source: str | None = Field(default=None, description="Resource code to issue from when it is loaded")
    mapping: dict | None = Field(default=None, description='{"holder_key": item, "holder_name": item, "fields": {…}}')


def _type_out(row) -> dict:
    return {"code": row.code, "name": row.name, "ministry": row.ministry, "issuers": row.issuers,
            "holder_kind": row.holder_kind, "fields": row.fields, "valid_years": row.valid_years, "layout": row.layout,
            "resource": row.resource.code if row.resource else None,
            "source": row.source.code if row.source else None, "mapping": row.source_mapping}


@router.get("/api/v1/licence-types")
def list_types(request: Request, actor: ActorDep):
    """The licence catalogue (证照目录)."""
    with request.app.state.database.reading() as session:
        return [_type_out(t) for t in service.list_licence_types(session)]


@router.put("/api/v1/licence-types/{code}")
def save_type(session: SessionDep, actor: ActorDep, code: str, body: TypeIn):
    """Define or change a licence type (the bureau); it appears in the catalog as a resource."""
    spec = service.TypeSpec(code=code, **body.model_dump(exclude={"fields", "layout"}),
                            fields=[f.model_dump() for f in body.fields],
                            layout=body.layout.model_dump(exclude_none=True) if body.layout else None)
    return _type_out(service.save_licence_type(session, actor, spec=spec))


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    holder_key: str = Field(max_length=32, description="ID number or credit code")
    holder_name: str = Field(min_length=1, max_length=200)
    data: dict[str, str | int | float | None] = Field(default_factory=dict)
    valid_from: date | None = None
    valid_until: date | None = None


class IssueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    issuer: str | None = Field(default=None, description="Credit code; by default the caller's department")
    licences: list[DraftIn] = Field(min_length=1, max_length=service.BATCH_LIMIT)


def licence_out(licence: Licence) -> dict:
    doc = json.loads(licence.document)
    return {"identifier": licence.identifier, "type": licence.type.code, "type_name": licence.type.name,
            "version": licence.version, "status": licence.status, "status_reason": licence.status_reason,
            "holder_kind": licence.holder_kind, "holder_key": licence.holder_key, "holder_name": licence.holder_name,
            "issuer": licence.issuer.code, "valid_from": doc["valid_from"], "valid_until": doc["valid_until"],
            "data": doc["data"], "seal": doc["seal"], "issued_at": doc["issued_at"]}


@router.post("/api/v1/licence-types/{code}/licences", status_code=201)
def issue(session: SessionDep, actor: ActorDep, code: str, body: IssueIn):
    """Issue one licence or a batch (all or none), signed with the issuing department's seal."""
    drafts = [service.Draft(d.holder_key, d.holder_name, d.data, d.valid_from, d.valid_until) for d in body.licences]
    return [licence_out(lic) for lic in service.issue_licences(session, actor, type_code=code, drafts=drafts,
                                                               issuer=body.issuer)]


@router.get("/api/v1/licences/keys")
def published_keys(request: Request):
    """Every seal key's public half and certificate, and the authority's: for offline verifiers."""
    with request.app.state.database.reading() as session:
        return keys.published_keys(session)


@router.get("/api/v1/licences/status")
def status_list(request: Request):
    """The status of every licence (Bitstring Status List, two bits each), signed by the authority."""
    with request.app.state.database.reading() as session:
        return verifying.status_list(session, f"{base_url(request)}/api/v1/licences/status")


class NotALicence(DatongError):
    status = 422
    code = "not_a_licence"
    message = N_("This is not a licence the hub can read: send the PDF, the signed JSON, the credential JSON "
                 "or the text of its QR code.")


class TooLarge(DatongError):
    status = 413
    code = "too_large"
    message = N_("A presented licence may be at most {limit} MB.")


@router.post("/api/v1/licences/verify")
async def verify(request: Request):
    """Public. The body is the licence PDF, its signed JSON, its credential JSON or its QR text:
    valid, expired, revoked, suspended, superseded, tampered (naming the changed field) or unknown.
    (Answered by ``datong.licenses.hot`` ahead of the framework when the request is plain.)"""
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_PRESENTED:
            raise TooLarge(limit=MAX_PRESENTED // (1024 * 1024))
    return await run_in_threadpool(judge, request.app.state.database, bytes(raw))


def judge(database, raw: bytes) -> dict:
    """Read what was presented and judge it against the hub, at the driver level (blocking)."""
    presented = documents.read_presented(raw)
    if presented is None:
        raise NotALicence()
    with database.snapshot() as snapshot:
        return verifying.verify_presented(snapshot, presented)


@router.get("/api/v1/licences")
def list_licences(request: Request, actor: ActorDep, type: str | None = None, holder: str | None = None,
                  status: Literal["valid", "suspended", "revoked", "superseded"] | None = None,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[int, Query(ge=0)] = 0):
    """Issued licences: the bureau and auditors see all, a department those it issued (audited)."""
    with request.app.state.database.reading() as session:
        found = service.list_licences(session, actor, type_code=type, holder=holder, status=status,
                                      page=Window(limit, offset))
        return {**found.counts(), "items": [licence_out(lic) for lic in found]}


def _read(request: Request, actor, identifier: str):
    with request.app.state.database.reading() as session:
        return service.read_licence(session, actor, identifier=identifier)


@router.get("/api/v1/licences/{identifier}")
def read(request: Request, actor: ActorDep, identifier: str):
    """One licence with every version and its history."""
    licence, history, versions = _read(request, actor, identifier)
    return licence_out(licence) | {
        "versions": [{"identifier": v.identifier, "version": v.version, "status": v.status} for v in versions],
        "history": [{"action": e.action, "reason": e.reason, "actor": e.actor, "at": e.at.isoformat()}
                    for e in history]}


@router.get("/api/v1/licences/{identifier}/pdf")
def download_pdf(request: Request, actor: ActorDep, identifier: str):
    """The printable licence: fields, seal, QR code, and the signed JSON attached."""
    licence, _, _ = _read(request, actor, identifier)
    body = render.pdf(licence.document, licence.signature, licence.key.kid, licence.key.algorithm,
                      seal_kind=licence.key.seal.kind if licence.key.seal else "", base_url=base_url(request),
                      status=licence.status, order=[f["name"] for f in licence.type.fields],
                      font_path=request.app.state.settings.pdf_font, layout=licence.type.layout)
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="licence-{licence.id}.pdf"'})


@router.get("/api/v1/licences/{identifier}/signed")
def download_signed(request: Request, actor: ActorDep, identifier: str):
    """The signed licence as JSON (what the verify API and ``datong licence verify`` accept)."""
    licence, _, _ = _read(request, actor, identifier)
    return render.signed_json(licence.document, licence.signature, licence.key.kid, licence.key.algorithm)


class NoCredential(DatongError):
    status = 409
    code = "no_credential"
    message = N_("Licences sealed with SM2 have no Verifiable Credential form (there is no registered "
                 "cryptosuite for SM2); use the signed JSON or the PDF.")


@router.get("/api/v1/licences/{identifier}/credential")
def download_credential(request: Request, actor: ActorDep, identifier: str):
    """The licence as a W3C Verifiable Credential 2.0 (Ed25519 and P-256 seals)."""
    licence, _, _ = _read(request, actor, identifier)
    if licence.key.algorithm not in documents.SUITES:
        raise NoCredential()
    with request.app.state.database.reading() as session:
        private = keys.private_key(session, licence.key)
    return JSONResponse(render.credential(licence.document, key=private, algorithm=licence.key.algorithm,
                                          kid=licence.key.kid, base_url=base_url(request),
                                          index=licence.status_index), media_type="application/vc+ld+json")


class ReissueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: dict[str, str | int | float | None] = Field(default_factory=dict)
    holder_name: str | None = Field(default=None, max_length=200)
    reason: str = Field(default="", max_length=500)


@router.post("/api/v1/licences/{identifier}/reissue", status_code=201)
def reissue(session: SessionDep, actor: ActorDep, identifier: str, body: ReissueIn):
    """换发: a new version with the changes; the old one is kept and marked superseded."""
    return licence_out(service.reissue_licence(session, actor, identifier=identifier, data=body.data,
                                               holder_name=body.holder_name, reason=body.reason))


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500)


@router.post("/api/v1/licences/{identifier}/{action}")
def change(session: SessionDep, actor: ActorDep, identifier: str, action: Literal["revoke", "suspend", "restore"],
           body: ReasonIn):
    """Revoke, suspend or restore; audited, and subscribers to the licence type are told."""
    return licence_out(service.change_status(session, actor, identifier=identifier, action=action,
                                             reason=body.reason))


@router.get("/api/v1/holders/{holder_key}/licences")
def holder_licences(request: Request, actor: ActorDep, holder_key: str, type: str | None = None,
                    x_purpose: Purpose = None, x_case_no: CaseNo = None):
    """一证通办: a holder's licences in force, with their authorisation or a grant on the type."""
    purpose, case = purpose_from(x_purpose), case_from(x_case_no)
    with request.app.state.database.reading() as session:
        return holders.use_holder_licences(session, actor, holder_key=holder_key, purpose=purpose,
                                           case_number=case, type_code=type)


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    department: str | None = Field(default=None, description="Credit code; by default the caller's")
    purpose: str = Field(min_length=1, max_length=500)
    days: int = Field(default=30, ge=1, le=366)
    types: list[str] = Field(default_factory=list, description="Licence type codes; empty: all")


def consent_out(consent) -> dict:
    return {"id": consent.id, "holder_key": consent.holder_key, "department": consent.department.code,
            "types": consent.types, "purpose": consent.purpose, "expires_at": consent.expires_at.isoformat(),
            "given_via": consent.given_via, "withdrawn_at": consent.withdrawn_at.isoformat()
            if consent.withdrawn_at else None}


@router.post("/api/v1/holders/{holder_key}/consents", status_code=201)
def record_consent(session: SessionDep, actor: ActorDep, holder_key: str, body: ConsentIn):
    """The holder's authorisation, recorded at the window by a clerk of the department it is for."""
    return consent_out(holders.give_consent(session, actor, holder_key=holder_key,
                                            department=body.department or actor.department_code or "",
                                            purpose=body.purpose, days=body.days, types=body.types))


@router.delete("/api/v1/consents/{consent_id}")
def withdraw(session: SessionDep, actor: ActorDep, consent_id: IdPath):
    return consent_out(holders.withdraw_consent(session, actor, consent_id=consent_id))


class SealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    department: str
    name: str = Field(min_length=1, max_length=100)
    kind: str = Field(default="证照专用章", max_length=32)
    algorithm: Literal["sm2", "ed25519", "p256"] | None = None
    valid_years: int = Field(default=5, ge=1, le=30)


def seal_out(seal: Seal, session) -> dict:
    current = keys.current_key(session, seal)
    return {"id": seal.id, "department": seal.department.code, "name": seal.name, "kind": seal.kind,
            "algorithm": seal.algorithm, "valid_from": seal.valid_from.isoformat(),
            "valid_until": seal.valid_until.isoformat(), "kid": current.kid,
            "certificate": json.loads(current.certificate)}


@router.get("/api/v1/seals")
def list_seals(request: Request, actor: ActorDep):
    with request.app.state.database.reading() as session:
        return [seal_out(s, session) for s in keys.list_seals(session, actor)]


@router.post("/api/v1/seals", status_code=201)
def create_seal(session: SessionDep, actor: ActorDep, body: SealIn):
    """A department's seal, its picture drawn from the department's name, its key certified."""
    seal = keys.create_seal(session, actor, department=body.department, name=body.name, kind=body.kind,
                            algorithm=body.algorithm, valid_years=body.valid_years)
    return seal_out(seal, session)


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    algorithm: Literal["sm2", "ed25519", "p256"] | None = None


@router.post("/api/v1/seals/{seal_id}/rotate")
def rotate(session: SessionDep, actor: ActorDep, seal_id: IdPath, body: RotateIn):
    """A new key; the old one is retired and what it signed still verifies."""
    key = keys.rotate_seal(session, actor, seal_id=seal_id, algorithm=body.algorithm)
    return seal_out(key.seal, session)


@router.get("/api/v1/seals/{seal_id}/image.svg")
def seal_image(request: Request, seal_id: IdPath):
    """The seal's picture (public: it is printed on every licence)."""
    with request.app.state.database.reading() as session:
        seal = keys.get_seal(session, seal_id)
        return Response(seal.image_svg, media_type="image/svg+xml")
