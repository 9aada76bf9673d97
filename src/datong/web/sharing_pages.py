"""Console pages for sharing: requests (the provider's inbox, the consumer's own), grants, and the
subscription deliveries with their dead letters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from datong.api.deps import IdPath
from datong.catalog.service import get_resource, search_resources
from datong.errors import DatongError
from datong.security.authz import Actor, Target, is_allowed
from datong.sharing import service as sharing
from datong.sharing import subscriptions
from datong.sharing.models import PENDING
from datong.web.pages import ConsoleActor, Csrf, localised, render

router = APIRouter(include_in_schema=False)


def _turnaround(request) -> str:
    if request.decided_at is None:
        return ""
    hours = (request.decided_at - request.requested_at).total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"


def _requests_page(request: Request, actor: Actor, status: int = 200, **context) -> Response:
    with request.app.state.database.reading() as session:
        requests = sharing.list_requests(session, actor)
        may_decide = {r.id: r.status == PENDING and is_allowed(actor, "share.decide", Target(
            "request", str(r.id), r.resource.provider_id)) for r in requests}
        resources, _ = search_resources(session, limit=500)
        # Others' resources that share at all: a department does not request its own.
        resources = [r for r in resources if r.provider_id != actor.department_id and r.sharing_type != "none"]
        return render(request, "sharing/requests.html", status=status, requests=requests, may_decide=may_decide,
                      turnaround=_turnaround, resources=resources,
                      may_request=is_allowed(actor, "share.request", Target("department", None, actor.department_id)),
                      **context)


@router.get("/share")
def requests_page(request: Request, actor: ConsoleActor):
    return _requests_page(request, actor)


@router.get("/share/new")
def new_request(request: Request, actor: ConsoleActor, resource: str):
    with request.app.state.database.reading() as session:
        chosen = get_resource(session, resource)
        return render(request, "sharing/new.html", resource=chosen)


@router.post("/share/new", dependencies=[Csrf])
async def create_request(request: Request, actor: ConsoleActor):
    form = await request.form()
    code = str(form.get("resource") or "")
    try:
        with request.app.state.database.unit_of_work() as session:
            created = sharing.request_access(session, actor, resource_code=code, items=form.getlist("items"),
                                             purpose=str(form.get("purpose") or ""),
                                             legal_basis=str(form.get("legal_basis") or ""),
                                             days=int(form.get("days") or 365))
            created_id, created_status = created.id, created.status
    except DatongError as error:
        with request.app.state.database.reading() as session:
            return render(request, "sharing/new.html", status=error.status, resource=get_resource(session, code),
                          error=localised(request, error))
    return _requests_page(request, actor, created=created_id, created_status=created_status)


@router.post("/share/requests/{request_id}", dependencies=[Csrf])
def decide(request: Request, actor: ConsoleActor, request_id: IdPath, decision: Annotated[str, Form()],
           reason: Annotated[str, Form()] = ""):
    try:
        with request.app.state.database.unit_of_work() as session:
            sharing.decide_request(session, actor, request_id=request_id, approve=decision == "approve", reason=reason)
    except DatongError as error:
        return _requests_page(request, actor, status=error.status, error=localised(request, error))
    return _requests_page(request, actor, decided=request_id)


def _grants_page(request: Request, actor: Actor, status: int = 200, **context) -> Response:
    with request.app.state.database.reading() as session:
        grants = sharing.list_grants(session, actor)
        may_revoke = {g.id: sharing.grant_state(g) == "active" and is_allowed(actor, "share.decide", Target(
            "grant", str(g.id), g.resource.provider_id)) for g in grants}
        return render(request, "sharing/grants.html", status=status, grants=grants, may_revoke=may_revoke,
                      state=sharing.grant_state, **context)


@router.get("/share/grants")
def grants_page(request: Request, actor: ConsoleActor):
    return _grants_page(request, actor)


@router.post("/share/grants/{grant_id}/revoke", dependencies=[Csrf])
def revoke(request: Request, actor: ConsoleActor, grant_id: IdPath, reason: Annotated[str, Form()]):
    try:
        with request.app.state.database.unit_of_work() as session:
            sharing.revoke_grant(session, actor, grant_id=grant_id, reason=reason)
    except DatongError as error:
        return _grants_page(request, actor, status=error.status, error=localised(request, error))
    return _grants_page(request, actor, revoked=grant_id)


@router.get("/share/deliveries")
def deliveries(request: Request, actor: ConsoleActor, dead: bool = False):
    with request.app.state.database.reading() as session:
        found = subscriptions.list_deliveries(session, actor, dead=True if dead else None)
        return render(request, "sharing/deliveries.html", deliveries=found, dead=dead)


@router.post("/share/deliveries/{delivery_id}/retry", dependencies=[Csrf])
def retry(request: Request, actor: ConsoleActor, delivery_id: IdPath):
    with request.app.state.database.unit_of_work() as session:
        subscriptions.retry(session, actor, delivery_id=delivery_id)
    return deliveries(request, actor, dead=True)
