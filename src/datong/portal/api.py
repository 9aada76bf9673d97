"""The portal's API, for a mobile app: sign in with a one-time code (a holder's bearer token),
who used my data and flags, notices and my applications; the auditor's flagged reads. A holder's
licences and authorisations are at ``/api/v1/me/licences`` here too, from the licence domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from datong.api.deps import ActorDep, IdPath, SessionDep, client_address
from datong.db.paging import Window
from datong.licenses.holders import my_licences
from datong.portal import service
from datong.security.tokens import issue_token

router = APIRouter(tags=["citizen portal"])


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: str = Field(max_length=32, description="The person's citizen ID number (for a company: its legal representative's)")
    credit_code: str | None = Field(default=None, max_length=32, description="Sign in for this company")


class SignInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    challenge: str = Field(max_length=32)
    code: str = Field(max_length=12)


class FlagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class FindingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    finding: str = Field(min_length=1, max_length=4000)


@router.post("/api/v1/portal/codes", status_code=201)
def send_code(request: Request, body: CodeIn):
    """Step one: a one-time code to the phone the registry holds (its last digits are shown)."""
    sent = request.app.state.portal_signin.send_code(id_number=body.id_number, credit_code=body.credit_code,
                                                     address=client_address(request))
    return {"challenge": sent.challenge, "phone": sent.phone_hint, "expires_in": sent.minutes * 60}


@router.post("/api/v1/portal/tokens", status_code=201)
def sign_in(request: Request, body: SignInIn):
    """Step two: the code for a holder's bearer token."""
    actor = request.app.state.portal_signin.sign_in(challenge=body.challenge, code=body.code,
                                                    address=client_address(request))
    ttl = request.app.state.settings.token_ttl_seconds
    token = issue_token(secret=request.app.state.secret, subject=actor.name, kind="holder", ttl_seconds=ttl,
                        name=actor.display_name)
    return {"access_token": token, "token_type": "bearer", "expires_in": ttl,
            "holder": actor.name.removeprefix("holder:"), "name": actor.display_name}


def use_out(use: dict) -> dict:
    return {**use, "at": use["at"].isoformat()}


@router.get("/api/v1/me/data-uses")
def data_uses(request: Request, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=200)] = 50,
              offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0):
    """Who used my data: each recorded read of my personal data by a department, its system or the hub."""
    with request.app.state.database.reading() as session:
        found = service.data_uses(session, actor, page=Window(limit, offset))
        return {**found.counts(), "uses": [use_out(u) for u in found]}


@router.post("/api/v1/me/data-uses/{seq}/flag", status_code=201)
def flag_use(session: SessionDep, actor: ActorDep, seq: IdPath, body: FlagIn):
    """I do not recognise this use: the auditor looks into it, and I am told what they found."""
    flag = service.flag_use(session, actor, seq=seq, reason=body.reason)
    return {"id": flag.id, "seq": flag.audit_seq, "status": flag.status}


@router.get("/api/v1/me/notices")
def notices(request: Request, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=200)] = 50,
            offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0):
    with request.app.state.database.reading() as session:
        found = service.my_notices(session, actor, page=Window(limit, offset))
        return {**found.counts(), "notices": [
            {"id": n.id, "kind": n.kind, "text": n.text, "why": n.why, "link": n.link, "at": n.at.isoformat(),
             "read": n.read_at is not None} for n in found]}


@router.get("/api/v1/me/cases")
def my_cases(request: Request, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=200)] = 50,
             offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0):
    """My applications; each one's detail, 补正 and rating are at /api/v1/cases/{number}."""
    with request.app.state.database.reading() as session:
        found = service.my_cases(session, actor, page=Window(limit, offset))
        return {**found.counts(), "cases": [
            {"number": c.number, "name": c.bundle.name if c.bundle else c.item.name, "status": c.status,
             "outcome": c.outcome, "channel": c.channel, "due_on": c.due_on.isoformat() if c.due_on else None}
            for c in found]}


@router.get("/api/v1/me/licences")
def licences(request: Request, actor: ActorDep):
    """My licences (every version), my authorisations, and each use of my licences."""
    with request.app.state.database.reading() as session:
        return my_licences(session, actor, holder_key=actor.name.removeprefix("holder:"))


@router.get("/api/v1/audit/flags")
def list_flags(request: Request, actor: ActorDep, status: Annotated[str | None, Query(pattern="^(open|closed)$")] = "open"):
    """Reads their subjects did not recognise: the auditor's cases."""
    with request.app.state.database.reading() as session:
        return [{"id": r["flag"].id, "holder": r["flag"].holder_key, "reason": r["flag"].reason,
                 "status": r["flag"].status, "finding": r["flag"].finding, "seq": r["event"].seq,
                 "actor": r["event"].actor, "department": r["event"].actor_department, "action": r["event"].action,
                 "purpose": r["event"].purpose, "case_number": r["event"].case_number,
                 "at": r["event"].occurred_at.isoformat()} for r in service.list_flags(session, actor, status=status)]


@router.post("/api/v1/audit/flags/{flag_id}/close")
def close_flag(session: SessionDep, actor: ActorDep, flag_id: IdPath, body: FindingIn):
    flag = service.close_flag(session, actor, flag_id=flag_id, finding=body.finding)
    return {"id": flag.id, "status": flag.status, "finding": flag.finding}
