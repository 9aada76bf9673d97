"""Identity services: departments, users, API clients, sign-in.

Keyword-only functions that take the session and the acting :class:`Actor`; they authorize,
change state, append the audit event and never commit.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datong.codes.credit_code import validate_credit_code
from datong.db.base import utcnow
from datong.db.paging import Found, Window, containing, window
from datong.errors import BadCredentials, Conflict, DatongError, InvalidInput, NotFound
from datong.i18n import N_, Term
from datong.security.audit import append_event
from datong.security.authz import Actor, Target, authorize, service
from datong.security.models import ApiClient, Department, User, UserRole
from datong.security.passwords import check_strength, hash_secret, verify_secret
from datong.security.roles import Role, separation_conflicts

USERNAME = re.compile(r"[a-z][a-z0-9_.-]{2,63}")
DEPARTMENT = Term(N_("Department"))
USER = Term(N_("User"))
CLIENT = Term(N_("API client"))


# --- departments ------------------------------------------------------------------------------


def get_department(session: Session, code: str) -> Department:
    department = session.scalar(select(Department).where(Department.code == code.strip().upper()))
    if department is None:
        raise NotFound(what=DEPARTMENT, key=code)
    return department


@service(mutates=True)
def create_department(
    session: Session, actor: Actor, *, code: str, name: str, short_name: str | None = None,
    parent_code: str | None = None,
) -> Department:
    authorize(actor, "department.create", Target("department", code))
    verdict = validate_credit_code(code)
    if not verdict.valid:
        raise InvalidInput(field=Term(N_("unified social credit code")), reason=verdict)
    name = name.strip()
    if not name:
        raise InvalidInput(field=Term(N_("name")), reason=Term(N_("it must not be empty")))
    code = verdict.normalised
    if session.scalar(select(Department.id).where(Department.code == code)):
        raise Conflict(what=DEPARTMENT, key=code)
    if session.scalar(select(Department.id).where(Department.name == name)):
        raise Conflict(what=DEPARTMENT, key=name)
    parent = get_department(session, parent_code) if parent_code else None
    department = Department(code=code, name=name, short_name=short_name, parent=parent)
    session.add(department)
    session.flush()
    append_event(session, actor=actor, action="department.create", target=f"department:{code}",
                 detail={"name": name, "parent": parent_code})
    return department


@service(mutates=False)
def list_departments(session: Session, actor: Actor, *, q: str | None = None,
                     page: Window | None = None) -> Found[Department]:
    authorize(actor, "department.list", Target("departments"))
    stmt = select(Department).order_by(Department.code)
    if (words := containing(q, Department.code, Department.name, Department.short_name)) is not None:
        stmt = stmt.where(words)
    return window(session, stmt, page)


# --- users ------------------------------------------------------------------------------------


def parse_roles(roles: list[str]) -> set[Role]:
    parsed: set[Role] = set()
    for role in roles:
        try:
            parsed.add(Role(role))
        except ValueError:
            allowed = ", ".join(r.value for r in Role)
            raise InvalidInput(field=Term(N_("role")), reason=f"{role} ∉ {{{allowed}}}") from None
    conflicts = separation_conflicts(parsed)
    if conflicts:
        a, b = conflicts[0]
        raise InvalidInput(
            field=Term(N_("role")),
            reason=Term(N_("system administrator, security administrator and auditor must be three different people")),
        ) from ValueError(f"{a} + {b}")
    return parsed


@service(mutates=True)
def create_user(
    session: Session, actor: Actor, *, username: str, display_name: str, department_code: str,
    roles: list[str], password: str,
) -> User:
    department = get_department(session, department_code)
    authorize(actor, "user.create", Target("user", username, department.id))
    parsed = parse_roles(roles)
    for role in sorted(parsed):
        authorize(actor, "role.grant", Target("role", role.value, department.id))
    username = username.strip().lower()
    if not USERNAME.fullmatch(username):
        raise InvalidInput(
            field=Term(N_("username")),
            reason=Term(N_("3 to 64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter")),
        )
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(what=USER, key=username)
    check_strength(password)
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        department=department,
        password_hash=hash_secret(password),
        role_rows=[UserRole(role=r.value) for r in sorted(parsed)],
    )
    session.add(user)
    session.flush()
    append_event(session, actor=actor, action="user.create", target=f"user:{username}",
                 detail={"department": department.code, "roles": sorted(r.value for r in parsed)})
    return user


_SEE_ALL = (Role.SYSTEM_ADMIN, Role.BUREAU_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR)


def _listing_scope(session: Session, actor: Actor, department_code: str | None) -> Department | None:
    """The department a listing is limited to: the one asked for, or the actor's own when the
    actor may not see every department's accounts."""
    if department_code:
        return get_department(session, department_code)
    if actor.kind == "system" or actor.has(*_SEE_ALL):
        return None
    return get_department(session, actor.department_code or "")


@service(mutates=False)
def list_users(session: Session, actor: Actor, *, department_code: str | None = None, q: str | None = None,
               page: Window | None = None) -> Found[User]:
    department = _listing_scope(session, actor, department_code)
    authorize(actor, "user.list", Target("users", department_id=department.id if department else None))
    stmt = select(User).order_by(User.username)
    if department:
        stmt = stmt.where(User.department_id == department.id)
    if (words := containing(q, User.username, User.display_name)) is not None:
        stmt = stmt.where(words)
    return window(session, stmt, page)


def actor_for_user(user: User) -> Actor:
    return Actor(
        kind="user", name=user.username, id=user.id, department_id=user.department_id,
        department_code=user.department.code, roles=frozenset(Role(r) for r in user.roles),
        display_name=user.display_name,
    )


class AccountLocked(DatongError):
    status = 423
    code = "account_locked"
    message = N_("This account is locked after too many wrong passwords until {until} (UTC). Wait, or ask the "
                 "security administrator to unlock it.")


def authenticate_user(session: Session, *, username: str, password: str) -> Actor:
    """Check a password; failures are recorded in the audit chain by the unit of work. A locked
    account refuses even the right password until its lock ends or is lifted."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    now = utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        error = AccountLocked(until=user.locked_until.strftime("%Y-%m-%d %H:%M"))
        error.audit = {"actor": Actor(kind="user", name=user.username), "action": "auth.login",
                       "target": f"user:{user.username}", "outcome": "denied", "detail": {"reason": "locked"}}
        raise error
    if not verify_secret(user.password_hash if user else None, password) or not user.is_active \
            or not user.department.is_active:
        error = BadCredentials()
        error.audit = {"actor": Actor(kind="user", name=username[:100]), "action": "auth.login",
                       "target": f"user:{username[:64]}", "outcome": "failure"}
        raise error
    user.last_login_at, user.failed_logins, user.locked_until = now, 0, None
    actor = actor_for_user(user)
    append_event(session, actor=actor, action="auth.login", target=f"user:{user.username}")
    return actor


def count_failed_login(session: Session, *, username: str, max_failures: int, lockout: timedelta) -> bool:
    """One more wrong password for the account (if it exists); at ``max_failures`` in a row it is
    locked for ``lockout``, which the audit chain records. Returns whether it is now locked."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()).with_for_update(of=User))
    if user is None:
        return False
    user.failed_logins += 1
    if user.failed_logins < max_failures:
        return False
    user.locked_until, user.failed_logins = utcnow() + lockout, 0
    append_event(session, actor=Actor.system("sign-in"), action="auth.lock", target=f"user:{user.username}",
                 detail={"until": user.locked_until.isoformat(), "failures": max_failures})
    return True


@service(mutates=True)
def unlock_user(session: Session, actor: Actor, *, username: str) -> User:
    """The security administrator lifts a lock (and forgets the failures counted so far)."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(what=USER, key=username)
    authorize(actor, "user.unlock", Target("user", user.username, user.department_id))
    user.locked_until, user.failed_logins = None, 0
    append_event(session, actor=actor, action="user.unlock", target=f"user:{user.username}")
    return user


# --- API clients ------------------------------------------------------------------------------


@service(mutates=True)
def create_client(session: Session, actor: Actor, *, department_code: str, name: str) -> tuple[ApiClient, str]:
    """Register a department's system; returns the client and its secret, shown this once."""
    department = get_department(session, department_code)
    authorize(actor, "client.create", Target("client", name, department.id))
    name = name.strip()
    if not name:
        raise InvalidInput(field=Term(N_("name")), reason=Term(N_("it must not be empty")))
    exists = select(ApiClient.id).where(ApiClient.department_id == department.id, ApiClient.name == name)
    if session.scalar(exists):
        raise Conflict(what=CLIENT, key=name)
    secret = secrets.token_urlsafe(32)
    client = ApiClient(
        client_id=f"dtc_{secrets.token_hex(8)}", name=name, department=department,
        secret_hash=hash_secret(secret), created_by=actor.name,
    )
    session.add(client)
    session.flush()
    append_event(session, actor=actor, action="client.create", target=f"client:{client.client_id}",
                 detail={"department": department.code, "name": name})
    return client, secret


@service(mutates=False)
def list_clients(session: Session, actor: Actor, *, department_code: str | None = None, q: str | None = None,
                 page: Window | None = None) -> Found[ApiClient]:
    department = _listing_scope(session, actor, department_code)
    authorize(actor, "client.list", Target("clients", department_id=department.id if department else None))
    stmt = select(ApiClient).order_by(ApiClient.client_id)
    if department:
        stmt = stmt.where(ApiClient.department_id == department.id)
    if (words := containing(q, ApiClient.client_id, ApiClient.name)) is not None:
        stmt = stmt.where(words)
    return window(session, stmt, page)


def actor_for_client(client: ApiClient) -> Actor:
    return Actor(kind="client", name=client.client_id, id=client.id, department_id=client.department_id,
                 department_code=client.department.code, display_name=client.name)


def authenticate_client(session: Session, *, client_id: str, secret: str) -> Actor:
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id.strip()))
    if not verify_secret(client.secret_hash if client else None, secret) or not client.is_active \
            or not client.department.is_active:
        error = BadCredentials()
        error.audit = {"actor": Actor(kind="client", name=client_id[:100]), "action": "auth.token",
                       "target": f"client:{client_id[:64]}", "outcome": "failure"}
        raise error
    actor = actor_for_client(client)
    append_event(session, actor=actor, action="auth.token", target=f"client:{client.client_id}")
    return actor


def actor_from_claims(session: Session, claims: dict) -> Actor | None:
    """The actor a verified token names, if the account still exists and is active."""
    kind, subject = claims.get("kind"), claims.get("sub", "")
    if kind == "user":
        user = session.scalar(select(User).where(User.username == subject))
        return actor_for_user(user) if user and user.is_active and user.department.is_active else None
    if kind == "client":
        client = session.scalar(select(ApiClient).where(ApiClient.client_id == subject))
        return actor_for_client(client) if client and client.is_active and client.department.is_active else None
    if kind == "holder" and subject.startswith("holder:"):  # a citizen or company signed in to the portal
        return Actor.holder(subject.removeprefix("holder:"), display_name=claims.get("name"))
    return None


def count_users(session: Session) -> int:
    return session.scalar(select(func.count(User.id))) or 0
