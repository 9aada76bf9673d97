"""Console pages for sharing: requests (the provider's inbox, the consumer's own), grants, and the
subscription deliveries with their dead letters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from datong.api.deps import IdPath
from datong.catalog.service import get_resource, search_resources
from datong.errors import DatongError, InvalidInput, NotFound
from datong.i18n import N_, Term
from datong.security.authz import Actor, Target, is_allowed
from datong.sharing import service as sharing
from datong.sharing import subscriptions
from datong.sharing.models import APPROVED, PENDING, REFUSED, REJECTED
from datong.web.pages import ConsoleActor, Csrf, listing, localised, render

router = APIRouter(include_in_schema=False)


def _turnaround(request) -> str:
    if request.decided_at is None:
        return ""
    hours = (request.decided_at - request.requested_at).total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"


#: How many matching resources the request search shows at once.
FOUND_LIMIT = 20


def _requestable(session, actor: Actor, q: str) -> list:
    """Other departments' shared resources matching the search, for the 申请共享 list."""
    resources, _ = search_resources(session, q=q.strip() or None, limit=500)
    return [r for r in resources if sharing.may_request(actor, r)][:FOUND_LIMIT]


def _requests_page(request: Request, actor: Actor, status: int = 200, q: str = "", **context) -> Response:
    find, at = listing(request, "find")
    shown = request.query_params.get("status")
    shown = shown if shown in (PENDING, APPROVED, REJECTED, REFUSED) else None
    with request.app.state.database.reading() as session:
        requests = sharing.list_requests(session, actor, q=find, status=shown, page=at)
        may_decide = {r.id: sharing.may_decide(actor, r) for r in requests}
        may_request = is_allowed(actor, "share.request", Target("department", None, actor.department_id))
        return render(request, "sharing/requests.html", status=status, requests=requests, may_decide=may_decide,
                      turnaround=_turnaround, found=_requestable(session, actor, q) if may_request else [], q=q,
                      may_request=may_request, find=find, shown=shown, at=at, **context)


@router.get("/share")
def requests_page(request: Request, actor: ConsoleActor, q: str = ""):
    return _requests_page(request, actor, q=q[:100])


@router.get("/share/new")
def new_request(request: Request, actor: ConsoleActor, resource: str = ""):
    if not resource.strip():
        return RedirectResponse("/share", status_code=303)
    try:
        with request.app.state.database.reading() as session:
            chosen = get_resource(session, resource)
            return render(request, "sharing/new.html", resource=chosen)
    except NotFound as error:
        return _requests_page(request, actor, status=404, error=localised(request, error), q=resource[:100])


@router.post("/share/new", dependencies=[Csrf])
async def create_request(request: Request, actor: ConsoleActor):
    form = await request.form()
    code = str(form.get("resource") or "")
    try:
        with request.app.state.database.unit_of_work() as session:
            created = sharing.request_access(session, actor, resource_code=code, items=form.getlist("items"),
                                             purpose=str(form.get("purpose") or ""),
                                             legal_basis=str(form.get("legal_basis") or ""),
                                             days=_days(form.get("days"), 365))
            created_id, created_status = created.id, created.status
    except NotFound as error:
        return _requests_page(request, actor, status=404, error=localised(request, error))
    except DatongError as error:
        with request.app.state.database.reading() as session:
            return render(request, "sharing/new.html", status=error.status, resource=get_resource(session, code),
                          error=localised(request, error))
    return _requests_page(request, actor, created=created_id, created_status=created_status)


def _days(value, default: int) -> int:
    try:
        return int(str(value or default))
    except ValueError:
        return 0  # refused by the service with its own message


def _decision_page(request: Request, actor: Actor, request_id: int, status: int = 200, **context) -> Response:
    with request.app.state.database.reading() as session:
        found = sharing.get_request(session, actor, request_id=request_id)
        items = {i.name: i for i in found.resource.items}
        return render(request, "sharing/request.html", status=status, r=found, items=items,
                      may_decide=sharing.may_decide(actor, found), turnaround=_turnaround,
                      default_plain=sharing.default_plain(found.resource, found.items), **context)


@router.get("/share/requests/{request_id}")
def request_page(request: Request, actor: ConsoleActor, request_id: IdPath):
    """One request in full: who asks, why, on what basis, for which items; the provider narrows it
    and decides, then confirms."""
    return _decision_page(request, actor, request_id)


@router.post("/share/requests/{request_id}", dependencies=[Csrf])
async def decide(request: Request, actor: ConsoleActor, request_id: IdPath):
    """Two steps: the first shows what the decision will do, the second (``step=confirm``) makes it."""
    form = await request.form()
    decision = {"approve": form.get("decision") == "approve", "items": form.getlist("items"),
                "plain_items": form.getlist("plain_items"), "days": _days(form.get("days"), 0) or None,
                "reason": str(form.get("reason") or "").strip()}
    missing = (N_("choose at least one data item to grant, or reject the request") if decision["approve"]
               and not decision["items"] else N_("say why the request is rejected") if not decision["approve"]
               and not decision["reason"] else None)
    if missing:
        return _decision_page(request, actor, request_id, status=422, chosen=decision, error=localised(
            request, InvalidInput(field="items" if decision["approve"] else "reason", reason=Term(missing))))
    if form.get("step") != "confirm":
        return _decision_page(request, actor, request_id, confirm=True, chosen=decision)
    try:
        with request.app.state.database.unit_of_work() as session:
            sharing.decide_request(session, actor, request_id=request_id, **decision)
    except DatongError as error:
        return _decision_page(request, actor, request_id, status=error.status, chosen=decision,
                              error=localised(request, error))
    return _requests_page(request, actor, decided=request_id)


def _grants_page(request: Request, actor: Actor, status: int = 200, **context) -> Response:
    q, at = listing(request)
    with request.app.state.database.reading() as session:
        grants = sharing.list_grants(session, actor, q=q, page=at)
        may_revoke = {g.id: sharing.grant_state(g) == "active" and is_allowed(actor, "share.decide", Target(
            "grant", str(g.id), g.resource.provider_id)) for g in grants}
        return render(request, "sharing/grants.html", status=status, grants=grants, may_revoke=may_revoke,
                      state=sharing.grant_state, q=q, at=at, **context)


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


def _deliveries_page(request: Request, actor: Actor, dead: bool = False, status: int = 200, **context) -> Response:
    _, at = listing(request)
    with request.app.state.database.reading() as session:
        found = subscriptions.list_deliveries(session, actor, dead=True if dead else None, page=at)
        subs = subscriptions.list_subscriptions(session, actor)
        may_end = {s.id: is_allowed(actor, "share.request", Target("subscription", str(s.id), s.consumer_id))
                   for s in subs}
        return render(request, "sharing/deliveries.html", status=status, deliveries=found, dead=dead, subs=subs,
                      may_end=may_end, waiting=subscriptions.waiting_deliveries(session, actor),
                      worker_seen=subscriptions.worker_seen(session), at=at, **context)


@router.get("/share/deliveries")
def deliveries(request: Request, actor: ConsoleActor, dead: bool = False):
    return _deliveries_page(request, actor, dead=dead)


@router.post("/share/subscriptions/{subscription_id}/end", dependencies=[Csrf])
def end_subscription(request: Request, actor: ConsoleActor, subscription_id: IdPath):
    try:
        with request.app.state.database.unit_of_work() as session:
            subscriptions.end_subscription(session, actor, subscription_id=subscription_id)
    except DatongError as error:
        return _deliveries_page(request, actor, status=error.status, error=localised(request, error))
    return _deliveries_page(request, actor, ended=subscription_id)


@router.post("/share/deliveries/{delivery_id}/retry", dependencies=[Csrf])
def retry(request: Request, actor: ConsoleActor, delivery_id: IdPath):
    with request.app.state.database.unit_of_work() as session:
        subscriptions.retry(session, actor, delivery_id=delivery_id)
    return deliveries(request, actor, dead=True)
