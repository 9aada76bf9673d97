"""The citizen portal (网上办事大厅), mobile first: sign in with a one-time code, my licences
(view, download, authorise a department to use them), my applications (apply online, follow,
supply 补正 material, rate), who used my data (flag a use I do not recognise), my notices. And
the auditor's page of flagged uses. A holder's session is kept apart from a staff one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from datong.api.deps import IdPath, client_address
from datong.db.paging import Window
from datong.errors import DatongError
from datong.licenses import holders
from datong.licenses import render as paper
from datong.portal import service as portal
from datong.portal.oidc import NotConfigured
from datong.portal.senders import LogSender
from datong.security.authz import Actor
from datong.services import flows, intake, ratings, review, service
from datong.services.flows import STATE_LABELS
from datong.web.licence_pages import _base_url
from datong.web.pages import ConsoleActor, Csrf, listing, localised, render

router = APIRouter(include_in_schema=False)
SESSION_HOLDER, SESSION_NAME = "holder", "holder_name"


class PortalLoginRequired(Exception):
    pass


def to_portal_login(request: Request, _exc: PortalLoginRequired) -> Response:
    return RedirectResponse("/me/login", status_code=303)


def holder_actor(request: Request) -> Actor:
    key = request.session.get(SESSION_HOLDER)
    if not key:
        raise PortalLoginRequired()
    return Actor.holder(key, display_name=request.session.get(SESSION_NAME))


Holder = Annotated[Actor, Depends(holder_actor)]


def page(request: Request, name: str, holder: Actor | None, status: int = 200, **context) -> Response:
    unread = 0
    if holder is not None:
        with request.app.state.database.reading() as session:
            unread = portal.unread_notices(session, holder.name.removeprefix("holder:"))
    oidc = request.app.state.portal_oidc
    return render(request, f"portal/{name}", status=status, holder=holder, unread=unread,
                  oidc_name=oidc.name if oidc is not None else None, **context)


def _error(request: Request, name: str, holder: Actor | None, error: DatongError, **context) -> Response:
    return page(request, name, holder, status=error.status, error=localised(request, error), **context)


# --- sign in -----------------------------------------------------------------------------------

@router.get("/me/login")
def login_form(request: Request):
    return page(request, "login.html", None)


@router.post("/me/login", dependencies=[Csrf])
def send_code(request: Request, id_number: Annotated[str, Form(max_length=32)],
              credit_code: Annotated[str, Form(max_length=32)] = ""):
    try:
        sent = request.app.state.portal_signin.send_code(id_number=id_number, credit_code=credit_code.strip() or None,
                                                         address=client_address(request))
    except DatongError as error:
        return _error(request, "login.html", None, error, id_number=id_number, credit_code=credit_code)
    sender = request.app.state.sender
    return page(request, "login.html", None, sent=sent,
                development=isinstance(sender, LogSender) and request.app.state.settings.env != "production")


@router.post("/me/login/code", dependencies=[Csrf])
def check_code(request: Request, challenge: Annotated[str, Form(max_length=32)],
               code: Annotated[str, Form(max_length=12)]):
    try:
        holder = request.app.state.portal_signin.sign_in(challenge=challenge, code=code,
                                                         address=client_address(request))
    except DatongError as error:
        sent = {"challenge": challenge, "phone_hint": "", "minutes": 0} if error.code == "wrong_code" else None
        return _error(request, "login.html", None, error, sent=sent)
    request.session.pop(SESSION_HOLDER, None)
    request.session[SESSION_HOLDER] = holder.name.removeprefix("holder:")
    request.session[SESSION_NAME] = holder.display_name or ""
    return RedirectResponse("/me", status_code=303)


def _oidc(request: Request):
    provider = request.app.state.portal_oidc
    if provider is None:
        raise NotConfigured()
    return provider


OIDC_KEPT = "portal_oidc"


def _callback(request: Request) -> str:
    """The address the provider sends the browser back to (registered with it): the hub's public one."""
    return f"{_base_url(request).rstrip('/')}/me/login/oidc/callback"


@router.get("/me/login/oidc")
def oidc_start(request: Request):
    """To the province's identity provider; it sends the browser back to the callback."""
    try:
        started = _oidc(request).start(_callback(request))
    except DatongError as error:
        return _error(request, "login.html", None, error)
    request.session[OIDC_KEPT] = {"state": started.state, "nonce": started.nonce, "verifier": started.verifier}
    return RedirectResponse(started.url, status_code=303)


@router.get("/me/login/oidc/callback")
def oidc_callback(request: Request, code: Annotated[str, Query(max_length=2000)] = "",
                  state: Annotated[str, Query(max_length=200)] = ""):
    kept = request.session.pop(OIDC_KEPT, None)
    try:
        holder = _oidc(request).finish(code=code, state=state, kept=kept or {}, address=client_address(request),
                                       redirect_uri=_callback(request))
    except DatongError as error:
        return _error(request, "login.html", None, error)
    request.session.pop(SESSION_HOLDER, None)
    request.session[SESSION_HOLDER] = holder.name.removeprefix("holder:")
    request.session[SESSION_NAME] = holder.display_name or ""
    return RedirectResponse("/me", status_code=303)


@router.post("/me/logout", dependencies=[Csrf])
def logout(request: Request):
    request.session.pop(SESSION_HOLDER, None)
    request.session.pop(SESSION_NAME, None)
    return RedirectResponse("/me/login", status_code=303)


# --- my space ----------------------------------------------------------------------------------

@router.get("/me")
def home(request: Request, holder: Holder):
    with request.app.state.database.reading() as session:
        notices = portal.my_notices(session, holder, page=Window(limit=5))
        cases = portal.my_cases(session, holder, page=Window(limit=5))
    return page(request, "home.html", holder, notices=notices, cases=cases, states=STATE_LABELS)


@router.get("/me/notices")
def notices(request: Request, holder: Holder):
    _, window = listing(request)
    with request.app.state.database.reading() as session:
        found = portal.my_notices(session, holder, page=window)
    with request.app.state.database.unit_of_work() as session:
        portal.mark_notices_read(session, holder)
    return page(request, "notices.html", holder, notices=found, window=window)


@router.get("/me/data-uses")
def data_uses(request: Request, holder: Holder, flagged: int | None = None):
    _, window = listing(request)
    with request.app.state.database.reading() as session:
        uses = portal.data_uses(session, holder, page=window)
    return page(request, "data_uses.html", holder, uses=uses, window=window, flagged=flagged)


@router.post("/me/data-uses/{seq}/flag", dependencies=[Csrf])
def flag(request: Request, holder: Holder, seq: IdPath, reason: Annotated[str, Form(max_length=2000)] = ""):
    try:
        with request.app.state.database.unit_of_work() as session:
            portal.flag_use(session, holder, seq=seq, reason=reason)
    except DatongError as error:
        with request.app.state.database.reading() as session:
            uses = portal.data_uses(session, holder, page=Window(limit=50))
        return _error(request, "data_uses.html", holder, error, uses=uses, window=Window(limit=50))
    return RedirectResponse(f"/me/data-uses?flagged={seq}", status_code=303)


@router.get("/me/licences")
def licences(request: Request, holder: Holder, shared: int | None = None):
    key = holder.name.removeprefix("holder:")
    with request.app.state.database.reading() as session:
        mine = holders.my_licences(session, holder, holder_key=key)
        departments = portal.departments(session)
    return page(request, "licences.html", holder, mine=mine, departments=departments, shared=shared)


@router.post("/me/licences/share", dependencies=[Csrf])
def share(request: Request, holder: Holder, department: Annotated[str, Form(max_length=18)],
          purpose: Annotated[str, Form(max_length=500)], days: Annotated[int, Form(ge=1, le=366)] = 30,
          type_code: Annotated[str, Form(max_length=100)] = ""):
    key = holder.name.removeprefix("holder:")
    try:
        with request.app.state.database.unit_of_work() as session:
            consent = holders.give_consent(session, holder, holder_key=key, department=department, purpose=purpose,
                                           days=days, types=[type_code] if type_code else None)
            consent_id = consent.id
    except DatongError as error:
        with request.app.state.database.reading() as session:
            mine = holders.my_licences(session, holder, holder_key=key)
            departments = portal.departments(session)
        return _error(request, "licences.html", holder, error, mine=mine, departments=departments)
    return RedirectResponse(f"/me/licences?shared={consent_id}", status_code=303)


@router.get("/me/licences/{identifier}/pdf")
def licence_pdf(request: Request, holder: Holder, identifier: str):
    with request.app.state.database.reading() as session:
        lic = portal.my_licence(session, holder, identifier=identifier)
        body = paper.pdf(lic.document, lic.signature, lic.key.kid, lic.key.algorithm,
                         seal_kind=lic.key.seal.kind if lic.key.seal else "", base_url=_base_url(request),
                         status=lic.status, order=[f["name"] for f in lic.type.fields],
                         font_path=request.app.state.settings.pdf_font, layout=lic.type.layout)
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="licence-{lic.id}.pdf"'})


# --- my applications -----------------------------------------------------------------------------

def _online(session) -> tuple[list, list]:
    items = [i for i in service.list_items(session) if i.online]
    codes = {i.code for i in items}
    bundles = [b for b in service.list_bundles(session) if all(e["item"] in codes for e in b.items)]
    return items, bundles


@router.get("/me/cases")
def cases(request: Request, holder: Holder):
    _, window = listing(request)
    with request.app.state.database.reading() as session:
        found = portal.my_cases(session, holder, page=window)
        items, bundles = _online(session)
    return page(request, "cases.html", holder, cases=found, window=window, items=items, bundles=bundles,
                states=STATE_LABELS)


@router.get("/me/apply/{kind}/{code}")
def apply_form(request: Request, holder: Holder, kind: str, code: str):
    with request.app.state.database.reading() as session:
        try:
            chosen = service.get_bundle(session, code) if kind == "bundle" else service.get_item(session, code)
            guide = None if kind == "bundle" else service.guide(chosen)
        except DatongError as error:
            return _error(request, "apply.html", holder, error, chosen=None)
    return page(request, "apply.html", holder, kind=kind, chosen=chosen, guide=guide)


@router.post("/me/apply", dependencies=[Csrf])
def apply(request: Request, holder: Holder, choice: Annotated[str, Form(max_length=220)]):
    """Apply online: the hub fills the form from the registry and my licences; I check and submit."""
    kind, _, code = choice.partition(":")
    try:
        number = flows.open_case(request.app.state.database, holder, applicant=holder.name.removeprefix("holder:"),
                                 item=code if kind == "item" else None, bundle=code if kind == "bundle" else None,
                                 channel="online")
    except DatongError as error:
        return _error(request, "apply.html", holder, error, chosen=None)
    return RedirectResponse(f"/me/cases/{number}", status_code=303)


@router.get("/me/cases/{number}")
def case_page(request: Request, holder: Holder, number: str):
    with request.app.state.database.reading() as session:
        try:
            found = review.read_case(session, holder, number=number)
        except DatongError as error:
            return _error(request, "case.html", holder, error, found=None)
        gaps = intake.missing(found["case"], found["children"])
    return page(request, "case.html", holder, found=found, missing=gaps, states=STATE_LABELS)


def _act(request: Request, holder: Actor, number: str, act) -> Response:
    try:
        with request.app.state.database.unit_of_work() as session:
            act(session)
    except DatongError as error:
        with request.app.state.database.reading() as session:
            found = review.read_case(session, holder, number=number)
            gaps = intake.missing(found["case"], found["children"])
        return _error(request, "case.html", holder, error, found=found, missing=gaps, states=STATE_LABELS)
    return RedirectResponse(f"/me/cases/{number}", status_code=303)


@router.post("/me/cases/{number}/form", dependencies=[Csrf])
async def fill(request: Request, holder: Holder, number: str):
    form = await request.form()
    values = {k.removeprefix("field:"): str(v)[:2000] for k, v in form.items() if k.startswith("field:")}
    return _act(request, holder, number, lambda s: intake.update_form(s, holder, number=number, values=values))


@router.post("/me/cases/{number}/submit", dependencies=[Csrf])
def submit(request: Request, holder: Holder, number: str):
    return _act(request, holder, number, lambda s: intake.accept_case(s, holder, number=number))


@router.post("/me/cases/{number}/supply", dependencies=[Csrf])
def supply(request: Request, holder: Holder, number: str, note: Annotated[str, Form(max_length=2000)] = ""):
    return _act(request, holder, number, lambda s: review.supply(s, holder, number=number, note=note))


@router.post("/me/cases/{number}/rate", dependencies=[Csrf])
def rate(request: Request, holder: Holder, number: str, level: Annotated[int, Form(ge=1, le=5)],
         reason: Annotated[str, Form(max_length=500)] = ""):
    reasons = [reason.strip()] if reason.strip() else []
    return _act(request, holder, number, lambda s: ratings.rate_case(s, holder, number=number, level=level,
                                                                    reasons=reasons))


# --- the auditor's flagged uses ------------------------------------------------------------------

@router.get("/audit/flags")
def flags(request: Request, actor: ConsoleActor, status: str = "open"):
    with request.app.state.database.reading() as session:
        try:
            rows = portal.list_flags(session, actor, status=status if status in ("open", "closed") else "open")
        except DatongError as error:
            return render(request, "portal/flags.html", status=error.status, error=localised(request, error), rows=[])
    return render(request, "portal/flags.html", rows=rows)


@router.post("/audit/flags/{flag_id}/close", dependencies=[Csrf])
def close_flag(request: Request, actor: ConsoleActor, flag_id: IdPath, finding: Annotated[str, Form(max_length=4000)] = ""):
    try:
        with request.app.state.database.unit_of_work() as session:
            portal.close_flag(session, actor, flag_id=flag_id, finding=finding)
    except DatongError as error:
        with request.app.state.database.reading() as session:
            rows = portal.list_flags(session, actor)
        return render(request, "portal/flags.html", status=error.status, error=localised(request, error), rows=rows)
    return RedirectResponse("/audit/flags", status_code=303)
