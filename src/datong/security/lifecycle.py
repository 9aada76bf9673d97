"""Accounts, systems and departments after they are created: disable and enable, reset a password,
change roles, rotate a system's secret, deactivate a department. Nothing is deleted: the audit
chain names these rows, so they stay, marked inactive, and every change is audited."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from datong.errors import InvalidInput, NotFound
from datong.i18n import N_, Term
from datong.security.audit import append_event
from datong.security.authz import Actor, Target, authorize, service
from datong.security.models import ApiClient, Department, User, UserRole
from datong.security.passwords import hash_secret
from datong.security.service import CLIENT, USER, get_department, parse_roles

#: Characters of a generated password: no 0/O, 1/l/I to misread at a counter.
_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(what=USER, key=username)
    return user


def _client(session: Session, client_id: str) -> ApiClient:
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id.strip()))
    if client is None:
        raise NotFound(what=CLIENT, key=client_id)
    return client


def _reason(reason: str) -> str:
    if not reason.strip():
        raise InvalidInput(field="reason", reason=Term(N_("say why (it is kept in the audit log)")))
    return reason.strip()[:500]


@service(mutates=True)
def set_user_active(session: Session, actor: Actor, *, username: str, active: bool, reason: str) -> User:
    """Disable an account (it can no longer sign in; its tokens stop within the actor cache's
    lifetime) or enable it again."""
    user = _user(session, username)
    authorize(actor, "user.manage", Target("user", user.username, user.department_id))
    if actor.kind == "user" and actor.name == user.username and not active:
        raise InvalidInput(field="username", reason=Term(N_("you cannot disable your own account")))
    user.is_active = active
    append_event(session, actor=actor, action="user.enable" if active else "user.disable",
                 target=f"user:{user.username}", detail={"reason": _reason(reason)})
    return user


@service(mutates=True)
def reset_password(session: Session, actor: Actor, *, username: str) -> tuple[User, str]:
    """A new password for the account, shown to the administrator this once; the lock
    and the failed sign-ins are cleared."""
    user = _user(session, username)
    authorize(actor, "user.manage", Target("user", user.username, user.department_id))
    password = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    user.password_hash, user.failed_logins, user.locked_until = hash_secret(password), 0, None
    append_event(session, actor=actor, action="user.password.reset", target=f"user:{user.username}")
    return user, password


@service(mutates=True)
def set_roles(session: Session, actor: Actor, *, username: str, roles: list[str]) -> User:
    """Replace an account's roles: each granted or taken away must be the actor's to grant, and the
    three-role separation holds."""
    user = _user(session, username)
    authorize(actor, "user.manage", Target("user", user.username, user.department_id))
    wanted = {r.value for r in parse_roles(roles)}
    before = set(user.roles)
    for role in sorted(wanted ^ before):
        authorize(actor, "role.grant", Target("role", role, user.department_id))
    user.role_rows = [UserRole(role=r) for r in sorted(wanted)]
    append_event(session, actor=actor, action="user.roles", target=f"user:{user.username}",
                 detail={"added": sorted(wanted - before), "removed": sorted(before - wanted)})
    return user


@service(mutates=True)
def set_client_active(session: Session, actor: Actor, *, client_id: str, active: bool, reason: str) -> ApiClient:
    client = _client(session, client_id)
    authorize(actor, "client.manage", Target("client", client.client_id, client.department_id))
    client.is_active = active
    append_event(session, actor=actor, action="client.enable" if active else "client.disable",
                 target=f"client:{client.client_id}", detail={"reason": _reason(reason)})
    return client


@service(mutates=True)
def rotate_secret(session: Session, actor: Actor, *, client_id: str) -> tuple[ApiClient, str]:
    """A new secret for the system, shown this once; the old one stops working at once (tokens
    already issued run out within their lifetime)."""
    client = _client(session, client_id)
    authorize(actor, "client.manage", Target("client", client.client_id, client.department_id))
    secret = secrets.token_urlsafe(32)
    client.secret_hash = hash_secret(secret)
    append_event(session, actor=actor, action="client.rotate", target=f"client:{client.client_id}")
    return client, secret


@service(mutates=True)
def set_department_active(session: Session, actor: Actor, *, code: str, active: bool, reason: str) -> Department:
    """Deactivate a department (its accounts and systems can no longer sign in; its resources
    stay in the catalog until withdrawn) or activate it again."""
    department = get_department(session, code)
    authorize(actor, "department.create", Target("department", department.code, department.id))
    if not active and actor.department_id == department.id:
        raise InvalidInput(field="code", reason=Term(N_("you cannot deactivate your own department")))
    department.is_active = active
    append_event(session, actor=actor, action="department.activate" if active else "department.deactivate",
                 target=f"department:{department.code}", detail={"reason": _reason(reason)})
    return department
