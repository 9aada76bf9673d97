"""Console pages. Each handler opens its own unit of work so that a refused or invalid form is
rolled back and shown again with the reason, in the user's language."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from datong.api.deps import client_address
from datong.errors import DatongError, PermissionDenied
from datong.i18n import N_, Term, translate
from datong.db.base import utcnow
from datong.db.paging import Window
from datong.security import lifecycle, service
from datong.security.authz import Actor, Target, is_allowed
from datong.security.models import User
from datong.security.roles import Role
from datong.web.render import CSRF_KEY, LOCALE_COOKIE, console_locale

router = APIRouter(include_in_schema=False)
SESSION_USER = "user"


class LoginRequired(Exception):
    pass


def to_login(request: Request, _exc: LoginRequired) -> Response:
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": "/login"})
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


def console_actor(request: Request) -> Actor:
    username = request.session.get(SESSION_USER)
    if not username:
        raise LoginRequired()
    with request.app.state.database.reading() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None or not user.is_active or not user.department.is_active:
            request.session.clear()
            raise LoginRequired()
        actor = service.actor_for_user(user)
    request.state.actor = actor
    return actor


async def verify_csrf(request: Request) -> None:
    """Synchroniser-token check for every state-changing console request (form field or the
    header that htmx sends). Written here rather than taken from a middleware package because
    it is a dozen lines and must share the session the console already keeps."""
    expected = request.session.get(CSRF_KEY)
    form = await request.form()
    given = request.headers.get("x-csrf-token") or form.get("csrf_token") or ""
    if not expected or not secrets.compare_digest(str(given), expected):
        raise PermissionDenied(action=Term(N_("submit this form: its security token has expired, reload the page")))


ConsoleActor = Annotated[Actor, Depends(console_actor)]
Csrf = Depends(verify_csrf)


def render(request: Request, name: str, status: int = 200, **context) -> Response:
    return request.app.state.renderer.page(request, name, status=status, **context)


#: Rows per page of a console list.
PAGE_SIZE = 50


def listing(request: Request, name: str = "q") -> tuple[str | None, Window]:
    """A console list's search words and window, from the address (a bad offset is the first page)."""
    words = (request.query_params.get(name) or "").strip()[:100] or None
    try:
        offset = min(max(int(request.query_params.get("offset") or 0), 0), 2**31)
    except ValueError:
        offset = 0
    return words, Window(limit=PAGE_SIZE, offset=offset)


def localised(request: Request, error: DatongError) -> str:
    return error.localised(console_locale(request))


# --- sign in and out, language ----------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, next: str = "/"):
    return render(request, "login.html", next=next)


@router.post("/login", dependencies=[Csrf])
def login(request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()],
          next: Annotated[str, Form()] = "/"):
    try:
        actor = request.app.state.signin.user(username=username, password=password,
                                              address=client_address(request))
    except DatongError as error:
        return render(request, "login.html", status=error.status, error=localised(request, error),
                      next=next, username=username)
    request.session.clear()
    request.session[SESSION_USER] = actor.name
    return RedirectResponse(local_path(request, next), status_code=303)


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request):
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def local_path(request: Request, url: str | None) -> str:
    """Where to send the browser back to: a path on this console, never another site (a Referer
    or a ``next`` can name any). Browsers read ``/\\host`` and ``//host`` as another host."""
    parts = urlsplit(url or "/")
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc != request.url.netloc:
            return "/"
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith(("//", "/\\")) or any(ord(c) < 0x20 for c in path):
        return "/"
    return path + (f"?{parts.query}" if parts.query else "")


@router.get("/locale/{locale}")
def switch_locale(request: Request, locale: str):
    response = RedirectResponse(local_path(request, request.headers.get("referer")), status_code=303)
    chosen = "en" if locale.lower().startswith("en") else "zh-CN"
    response.set_cookie(LOCALE_COOKIE, chosen, max_age=365 * 86400, samesite="lax")
    return response


# --- home ---------------------------------------------------------------------------------------


# --- departments --------------------------------------------------------------------------------


def _departments_page(request: Request, actor: Actor, status: int = 200, **context) -> Response:
    may_create = is_allowed(actor, "department.create", Target("department"))
    q, at = listing(request)
    with request.app.state.database.reading() as session:
        departments = service.list_departments(session, actor, q=q, page=at)
        return render(request, "departments.html", status=status, departments=departments,
                      may_create=may_create, q=q, at=at, all_departments=service.list_departments(session, actor),
                      **context)


@router.get("/departments")
def departments(request: Request, actor: ConsoleActor):
    return _departments_page(request, actor)


@router.post("/departments", dependencies=[Csrf])
def create_department(request: Request, actor: ConsoleActor, code: Annotated[str, Form()],
                      name: Annotated[str, Form()], parent_code: Annotated[str, Form()] = ""):
    try:
        with request.app.state.database.unit_of_work() as session:
            created = service.create_department(session, actor, code=code, name=name,
                                                parent_code=parent_code or None)
    except DatongError as error:
        return _departments_page(request, actor, status=error.status, error=localised(request, error),
                                 form={"code": code, "name": name, "parent_code": parent_code})
    return _departments_page(request, actor, status=201, created=created.name)


def _lifecycle(request: Request, actor: Actor, page, act, done: str | None = None, **shown) -> Response:
    """Run one lifecycle change in a unit of work and show the page again, with what was done or
    why it was refused."""
    try:
        with request.app.state.database.unit_of_work() as session:
            result = act(session)
        extra = result if isinstance(result, dict) else {}
    except DatongError as error:
        return page(request, actor, status=error.status, error=localised(request, error))
    return page(request, actor, changed=done, **shown, **extra)


@router.post("/departments/{code}/{change}", dependencies=[Csrf])
def department_state(request: Request, actor: ConsoleActor, code: str, change: str,
                     reason: Annotated[str, Form()] = ""):
    if change not in ("activate", "deactivate"):
        return Response(status_code=404)
    return _lifecycle(request, actor, _departments_page, lambda session: lifecycle.set_department_active(
        session, actor, code=code, active=change == "activate", reason=reason))


# --- users --------------------------------------------------------------------------------------


def _users_page(request: Request, actor: Actor, status: int = 200, **context) -> Response:
    grantable = [r.value for r in Role
                 if is_allowed(actor, "role.grant", Target("role", r.value, actor.department_id))]
    q, at = listing(request)
    with request.app.state.database.reading() as session:
        users = service.list_users(session, actor, q=q, page=at)
        departments = service.list_departments(session, actor)
        manageable = {u.username: u.username != actor.name and is_allowed(
            actor, "user.manage", Target("user", u.username, u.department_id)) for u in users}
        return render(request, "users.html", status=status, users=users, departments=departments,
                      grantable=grantable, manageable=manageable, now=utcnow(), q=q, at=at, **context)


@router.post("/users/{username}/{change}", dependencies=[Csrf])
def user_change(request: Request, actor: ConsoleActor, username: str, change: str,
                reason: Annotated[str, Form()] = "", roles: Annotated[list[str], Form()] = []):  # noqa: B006
    def say(text: str) -> str:
        return translate(console_locale(request), text, name=username)

    if change in ("activate", "deactivate"):
        return _lifecycle(request, actor, _users_page, lambda session: lifecycle.set_user_active(
            session, actor, username=username, active=change == "activate", reason=reason),
            done=say(N_("Account {name} enabled.") if change == "activate" else N_("Account {name} disabled.")))
    if change == "reset-password":
        def reset(session):
            user, password = lifecycle.reset_password(session, actor, username=username)
            return {"password": {"username": user.username, "password": password}}
        return _lifecycle(request, actor, _users_page, reset)
    if change == "roles":
        return _lifecycle(request, actor, _users_page, lambda session: lifecycle.set_roles(
            session, actor, username=username, roles=roles), done=say(N_("Roles of {name} saved.")))
    return Response(status_code=404)


@router.get("/users")
def users(request: Request, actor: ConsoleActor):
    return _users_page(request, actor)


@router.post("/users", dependencies=[Csrf])
def create_user(request: Request, actor: ConsoleActor, username: Annotated[str, Form()],
                display_name: Annotated[str, Form()], department_code: Annotated[str, Form()],
                password: Annotated[str, Form()], roles: Annotated[list[str], Form()] = []):  # noqa: B006
    try:
        with request.app.state.database.unit_of_work() as session:
            created = service.create_user(session, actor, username=username, display_name=display_name,
                                          department_code=department_code, roles=roles, password=password)
    except DatongError as error:
        form = {"username": username, "display_name": display_name, "department_code": department_code,
                "roles": roles}
        return _users_page(request, actor, status=error.status, error=localised(request, error), form=form)
    return _users_page(request, actor, status=201, created=created.username)


# --- API clients --------------------------------------------------------------------------------


def _clients_page(request: Request, actor: Actor, status: int = 200, **context) -> Response:
    q, at = listing(request)
    with request.app.state.database.reading() as session:
        clients = service.list_clients(session, actor, q=q, page=at)
        departments = service.list_departments(session, actor)
        manageable = {c.client_id: is_allowed(actor, "client.manage", Target("client", c.client_id, c.department_id))
                      for c in clients}
        return render(request, "clients.html", status=status, clients=clients, departments=departments,
                      manageable=manageable, q=q, at=at, **context)


@router.post("/clients/{client_id}/{change}", dependencies=[Csrf])
def client_change(request: Request, actor: ConsoleActor, client_id: str, change: str,
                  reason: Annotated[str, Form()] = ""):
    locale = console_locale(request)
    if change in ("activate", "deactivate"):
        return _lifecycle(request, actor, _clients_page, lambda session: lifecycle.set_client_active(
            session, actor, client_id=client_id, active=change == "activate", reason=reason),
            done=translate(locale, N_("System {name} enabled.") if change == "activate" else
                           N_("System {name} disabled."), name=client_id))
    if change == "rotate-secret":
        def rotate(session):
            client, secret = lifecycle.rotate_secret(session, actor, client_id=client_id)
            return {"created": {"client_id": client.client_id, "secret": secret, "name": client.name}}
        return _lifecycle(request, actor, _clients_page, rotate)
    return Response(status_code=404)


@router.get("/clients")
def clients(request: Request, actor: ConsoleActor):
    return _clients_page(request, actor)


@router.post("/clients", dependencies=[Csrf])
def create_client(request: Request, actor: ConsoleActor, department_code: Annotated[str, Form()],
                  name: Annotated[str, Form()]):
    try:
        with request.app.state.database.unit_of_work() as session:
            client, secret = service.create_client(session, actor, department_code=department_code, name=name)
            created = {"client_id": client.client_id, "secret": secret, "name": client.name}
    except DatongError as error:
        return _clients_page(request, actor, status=error.status, error=localised(request, error),
                             form={"department_code": department_code, "name": name})
    return _clients_page(request, actor, status=201, created=created)


# --- audit (auditors) ---------------------------------------------------------------------------
