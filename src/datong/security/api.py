"""Thin HTTP handlers for tokens, departments, users, API clients and the audit log."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from datong.api.deps import MAX_ID, ActorDep, IdPath, SessionDep, client_address
from datong.api.paging import Page, Search, WindowDep, next_link, page
from datong.errors import BadCredentials, InvalidInput
from datong.i18n import N_, Term
from datong.security import audit, lifecycle, service
from datong.security.schemas import (
    AuditEventOut, ClientCreated, ClientIn, ClientOut, DepartmentIn, DepartmentOut, TokenOut,
    UserIn, UserOut,
)
from datong.security.tokens import issue_token

router = APIRouter(prefix="/api/v1")


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise BadCredentials() from None
    return client_id, secret


@router.post("/auth/token", response_model=TokenOut, tags=["auth"])
def token(
    request: Request,
    grant_type: Annotated[str, Form()],
    username: Annotated[str | None, Form()] = None,
    password: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
) -> TokenOut:
    """OAuth2 token endpoint: ``password`` for staff, ``client_credentials`` for systems."""
    settings = request.app.state.settings
    if grant_type == "password" and username and password is not None:
        actor = request.app.state.signin.user(username=username, password=password, address=client_address(request))
    elif grant_type == "client_credentials":
        basic = _basic_credentials(request)
        client_id, client_secret = basic if basic else (client_id, client_secret)
        if not client_id or client_secret is None:
            raise BadCredentials()
        actor = request.app.state.signin.client(client_id=client_id, secret=client_secret,
                                                address=client_address(request))
    else:
        raise InvalidInput(field="grant_type",
                           reason=Term(N_("use 'password' with username and password, or 'client_credentials'")))
    access = issue_token(secret=request.app.state.secret, subject=actor.name, kind=actor.kind,
                         ttl_seconds=settings.token_ttl_seconds)
    return TokenOut(access_token=access, expires_in=settings.token_ttl_seconds)


@router.get("/departments", response_model=Page[DepartmentOut], tags=["identity"])
def list_departments(request: Request, session: SessionDep, actor: ActorDep, at: WindowDep, q: Search = None):
    return page(request, service.list_departments(session, actor, q=q, page=at), at, DepartmentOut.of)


@router.post("/departments", response_model=DepartmentOut, status_code=201, tags=["identity"])
def create_department(body: DepartmentIn, session: SessionDep, actor: ActorDep):
    department = service.create_department(session, actor, **body.model_dump())
    return DepartmentOut.of(department)


@router.get("/users", response_model=Page[UserOut], tags=["identity"])
def list_users(request: Request, session: SessionDep, actor: ActorDep, at: WindowDep, department: str | None = None,
               q: Search = None):
    return page(request, service.list_users(session, actor, department_code=department, q=q, page=at), at,
                UserOut.of)


@router.post("/users", response_model=UserOut, status_code=201, tags=["identity"])
def create_user(body: UserIn, session: SessionDep, actor: ActorDep):
    return UserOut.of(service.create_user(session, actor, **body.model_dump()))


@router.post("/users/{username}/unlock", response_model=UserOut, tags=["identity"])
def unlock_user(session: SessionDep, actor: ActorDep, username: str):
    """Security administrators: lift a lock that wrong passwords put on the account."""
    return UserOut.of(service.unlock_user(session, actor, username=username))


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


class RolesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: list[str]


class PasswordReset(BaseModel):
    username: str
    password: str  # shown this once


@router.post("/users/{username}/disable", response_model=UserOut, tags=["identity"])
def disable_user(session: SessionDep, actor: ActorDep, username: str, body: ReasonIn):
    """The account can no longer sign in; tokens it holds stop within 30 seconds. Kept, not deleted."""
    return UserOut.of(lifecycle.set_user_active(session, actor, username=username, active=False, reason=body.reason))


@router.post("/users/{username}/enable", response_model=UserOut, tags=["identity"])
def enable_user(session: SessionDep, actor: ActorDep, username: str, body: ReasonIn):
    return UserOut.of(lifecycle.set_user_active(session, actor, username=username, active=True, reason=body.reason))


@router.post("/users/{username}/reset-password", response_model=PasswordReset, tags=["identity"])
def reset_password(session: SessionDep, actor: ActorDep, username: str):
    """A new password, shown this once, for the administrator to hand to the person."""
    user, password = lifecycle.reset_password(session, actor, username=username)
    return PasswordReset(username=user.username, password=password)


@router.put("/users/{username}/roles", response_model=UserOut, tags=["identity"])
def set_roles(session: SessionDep, actor: ActorDep, username: str, body: RolesIn):
    """Replace the account's roles (each one changed must be yours to grant; 三员 stay separate)."""
    return UserOut.of(lifecycle.set_roles(session, actor, username=username, roles=body.roles))


@router.post("/departments/{code}/deactivate", response_model=DepartmentOut, tags=["identity"])
def deactivate_department(session: SessionDep, actor: ActorDep, code: str, body: ReasonIn):
    """Its accounts and systems can no longer sign in; its resources stay until withdrawn."""
    return DepartmentOut.of(lifecycle.set_department_active(session, actor, code=code, active=False,
                                                            reason=body.reason))


@router.post("/departments/{code}/activate", response_model=DepartmentOut, tags=["identity"])
def activate_department(session: SessionDep, actor: ActorDep, code: str, body: ReasonIn):
    return DepartmentOut.of(lifecycle.set_department_active(session, actor, code=code, active=True,
                                                            reason=body.reason))


@router.post("/clients/{client_id}/disable", response_model=ClientOut, tags=["identity"])
def disable_client(session: SessionDep, actor: ActorDep, client_id: str, body: ReasonIn):
    return ClientOut.of(lifecycle.set_client_active(session, actor, client_id=client_id, active=False,
                                                    reason=body.reason))


@router.post("/clients/{client_id}/enable", response_model=ClientOut, tags=["identity"])
def enable_client(session: SessionDep, actor: ActorDep, client_id: str, body: ReasonIn):
    return ClientOut.of(lifecycle.set_client_active(session, actor, client_id=client_id, active=True,
                                                    reason=body.reason))


@router.post("/clients/{client_id}/rotate-secret", response_model=ClientCreated, tags=["identity"])
def rotate_secret(session: SessionDep, actor: ActorDep, client_id: str):
    """A new secret, shown this once; the old one stops working at once."""
    client, secret = lifecycle.rotate_secret(session, actor, client_id=client_id)
    return ClientCreated(**ClientOut.of(client).model_dump(), client_secret=secret)


@router.get("/clients", response_model=Page[ClientOut], tags=["identity"])
def list_clients(request: Request, session: SessionDep, actor: ActorDep, at: WindowDep,
                 department: str | None = None, q: Search = None):
    return page(request, service.list_clients(session, actor, department_code=department, q=q, page=at), at,
                ClientOut.of)


@router.post("/clients", response_model=ClientCreated, status_code=201, tags=["identity"])
def create_client(body: ClientIn, session: SessionDep, actor: ActorDep):
    client, secret = service.create_client(session, actor, department_code=body.department_code, name=body.name)
    return ClientCreated(**ClientOut.of(client).model_dump(), client_secret=secret)


@router.get("/audit/events", response_model=Page[AuditEventOut], tags=["audit"])
def audit_events(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    by_actor: Annotated[str | None, Query(alias="actor")] = None,
    action: str | None = None,
    subject: str | None = None,
    department: Annotated[str | None, Query(description="The actor's department (credit code).")] = None,
    outcome: Annotated[str | None, Query(pattern="^(success|denied|failure)$")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_seq: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Cursor: events older than this one")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
):
    """Auditors only. Newest first. ``next`` follows the ``before_seq`` cursor, which stays right
    while events are appended; ``total`` counts the matching events from the cursor on."""
    events = audit.list_audit_events(
        session, actor, by_actor=by_actor, action=action, subject=subject, department=department, outcome=outcome,
        since=since, until=until, limit=limit, offset=offset, before_seq=before_seq,
    )
    more = bool(events) and offset + len(events) < events.total
    return Page(items=[AuditEventOut.model_validate(e) for e in events], total=events.total,
                total_exact=events.exact, limit=limit,
                offset=offset, next=next_link(request, before_seq=events[-1].seq, offset=0) if more else None)


@router.get("/audit/events/{seq}", response_model=AuditEventOut, tags=["audit"])
def audit_event(session: SessionDep, actor: ActorDep, seq: IdPath):
    """Auditors only: one event in full, with the hash that links it to the one before."""
    return AuditEventOut.model_validate(audit.get_audit_event(session, actor, seq=seq))
