"""Console pages for the licence library: issued licences with search and a chart of their
states, a licence's page (fields, PDF, QR, versions, history, revocation), licence types, seals with
their certificates and rotation; and the public verify page that a scanned QR code opens."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from datong.api.deps import IdPath
from datong.errors import DatongError
from datong.i18n import N_
from datong.licenses import documents, keys, service, transfer, verifying
from datong.licenses import render as paper
from datong.licenses.models import STATUS_CODES
from datong.security.authz import Actor, Target, is_allowed
from datong.web.pages import ConsoleActor, Csrf, listing, localised, render

router = APIRouter(include_in_schema=False)
STATES = tuple(STATUS_CODES)
#: Words the templates translate from values (states, history actions, holder kinds).
WORDS = (N_("valid"), N_("suspended"), N_("revoked"), N_("superseded"), N_("issued"), N_("revoke"), N_("suspend"),
         N_("restore"), N_("person"), N_("entity"))


def _base_url(request: Request) -> str:
    return request.app.state.database.sessions.kw["info"]["public_url"]


@router.get("/licences")
def licences(request: Request, actor: ConsoleActor, type: Annotated[str, Query(max_length=100)] = "",
             status: Annotated[str, Query(max_length=16)] = ""):
    """Issued licences (the bureau sees all, a department its own); reading the list is audited."""
    words, page = listing(request, "holder")
    try:
        with request.app.state.database.reading() as session:
            found = service.list_licences(session, actor, type_code=type or None, holder=words,
                                          status=status if status in STATES else None, page=page)
            counts = service.licence_counts(session)
            kinds = service.list_licence_types(session)
    except DatongError as error:
        return render(request, "licences/list.html", status=error.status, found=None, error=localised(request, error),
                      kinds=[], chart=None, holder=words or "", type=type, state=status, states=STATES)
    names = sorted(counts)
    chart = {"labels": names, "series": [[s, [counts[n].get(s, 0) for n in names]] for s in STATES]}
    return render(request, "licences/list.html", found=found, kinds=kinds, chart=chart, holder=words or "",
                  type=type, state=status, states=STATES, page=page)


def _may_manage(actor: Actor, licence) -> bool:
    return is_allowed(actor, "licence.manage", Target("licence", licence.identifier, licence.issuer_id))


@router.get("/licences/l/{identifier}")
def licence_page(request: Request, actor: ConsoleActor, identifier: str, done: str = ""):
    try:
        with request.app.state.database.reading() as session:
            licence, history, versions = service.read_licence(session, actor, identifier=identifier)
    except DatongError as error:
        return render(request, "licences/licence.html", status=error.status, licence=None,
                      error=localised(request, error))
    qr = paper.qr_for(_base_url(request), licence.document, licence.signature)
    doc = json.loads(licence.document)
    order = [f["name"] for f in licence.type.fields]
    return render(request, "licences/licence.html", licence=licence, doc=doc, history=history, versions=versions,
                  qr_svg=paper.qr_svg(qr), fields=[(n, doc["data"].get(n, "")) for n in order],
                  may_manage=_may_manage(actor, licence), done=done)


@router.get("/licences/l/{identifier}/pdf")
def licence_pdf(request: Request, actor: ConsoleActor, identifier: str):
    with request.app.state.database.reading() as session:
        licence, _, _ = service.read_licence(session, actor, identifier=identifier)
    body = paper.pdf(licence.document, licence.signature, licence.key.kid, licence.key.algorithm,
                     seal_kind=licence.key.seal.kind if licence.key.seal else "", base_url=_base_url(request),
                     status=licence.status, order=[f["name"] for f in licence.type.fields],
                      font_path=request.app.state.settings.pdf_font, layout=licence.type.layout)
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="licence-{licence.id}.pdf"'})


@router.post("/licences/l/{identifier}", dependencies=[Csrf])
def change(request: Request, actor: ConsoleActor, identifier: str,
           action: Annotated[str, Form(pattern="^(revoke|suspend|restore)$")],
           reason: Annotated[str, Form(max_length=500)] = ""):
    try:
        with request.app.state.database.unit_of_work() as session:
            service.change_status(session, actor, identifier=identifier, action=action, reason=reason)
    except DatongError as error:
        return render(request, "licences/licence.html", status=error.status, licence=None,
                      error=localised(request, error), back=identifier)
    return RedirectResponse(f"/licences/l/{identifier}?done={action}", status_code=303)


@router.get("/licences/types")
def licence_types(request: Request, actor: ConsoleActor):
    return _types_page(request, actor)


def _types_page(request: Request, actor: Actor, status: int = 200, **context) -> Response:
    with request.app.state.database.reading() as session:
        kinds = service.list_licence_types(session)
        counts = service.licence_counts(session)
    return render(request, "licences/types.html", status=status, kinds=kinds, counts=counts,
                  may_define=is_allowed(actor, "licence.type", Target("licence_type")), **context)


@router.get("/licences/types.xlsx")
def export_types(request: Request, actor: ConsoleActor):
    with request.app.state.database.reading() as session:
        body = transfer.export_licence_types(service.list_licence_types(session))
    return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="licence-types.xlsx"'})


#: A licence catalogue is a few dozen rows; anything much larger is not one.
IMPORT_LIMIT = 4 * 1024 * 1024


@router.post("/licences/types", dependencies=[Csrf])
async def import_types(request: Request, actor: ConsoleActor):
    """Excel import of licence types, as for resources: all land or none, each problem listed."""
    from datong.catalog.transfer import CatalogRejected
    from datong.web.render import console_locale

    form = await request.form()
    upload = form.get("file")
    content = await upload.read(IMPORT_LIMIT + 1) if upload is not None and not isinstance(upload, str) else b""
    locale = console_locale(request)
    if len(content) > IMPORT_LIMIT:
        from datong.i18n import translate

        return _types_page(request, actor, status=413, error=translate(
            locale, N_("The workbook is larger than {mb} MB; a licence catalogue is not."), mb=4))
    try:
        with request.app.state.database.unit_of_work() as session:
            saved = [t.name for t in transfer.import_licence_types(session, actor, filename=getattr(upload, "filename", ""),
                                                                     content=content)]
    except CatalogRejected as rejected:
        problems = [(p.sheet, p.row, p.column, p.localise(locale)) for p in rejected.problems]
        return _types_page(request, actor, status=422, error=rejected.localised(locale), problems=problems)
    except DatongError as error:
        return _types_page(request, actor, status=error.status, error=localised(request, error))
    return _types_page(request, actor, saved=saved)


@router.get("/licences/seals")
def seals(request: Request, actor: ConsoleActor, rotated: int | None = None):
    with request.app.state.database.reading() as session:
        rows = []
        for seal in keys.list_seals(session, actor):
            history = keys.seal_keys(session, seal)
            rows.append({"seal": seal, "keys": history,
                         "certificate": json.dumps(json.loads(history[-1].certificate), ensure_ascii=False, indent=1)
                         if history else "",
                         "may_rotate": is_allowed(actor, "seal.manage", Target("seal", str(seal.id),
                                                                                seal.department_id))})
    return render(request, "licences/seals.html", rows=rows, rotated=rotated)


@router.post("/licences/seals/{seal_id}/rotate", dependencies=[Csrf])
def rotate(request: Request, actor: ConsoleActor, seal_id: IdPath):
    try:
        with request.app.state.database.unit_of_work() as session:
            keys.rotate_seal(session, actor, seal_id=seal_id)
    except DatongError as error:
        return render(request, "licences/seals.html", status=error.status, rows=[], error=localised(request, error))
    return RedirectResponse(f"/licences/seals?rotated={seal_id}", status_code=303)


def _visitor_locale(request: Request) -> str:
    """A phone that scanned the QR speaks its own language, unless the visitor chose one."""
    from datong.i18n import negotiate, normalise
    from datong.web.render import LOCALE_COOKIE

    return (normalise(request.query_params.get("lang")) or normalise(request.cookies.get(LOCALE_COOKIE))
            or negotiate(request.headers.get("accept-language"), request.app.state.settings.default_locale))


@router.get("/verify/{identifier}")
def verify_page(request: Request, identifier: str, q: Annotated[str, Query(max_length=8000)] = ""):
    """Public: what a scanned QR code opens. With the QR's signed document it checks that too, and
    names a field that differs from what the hub signed."""
    locale = _visitor_locale(request)
    with request.app.state.database.reading() as session:
        try:
            presented = documents.read_presented(f"{documents.QR_PREFIX}{q.removeprefix(documents.QR_PREFIX)}") \
                if q else None
            verdict = verifying.verify_presented(session, presented) if presented else \
                verifying.verify_identifier(session, identifier)
            if presented is not None and presented.identifier != identifier:
                verdict["outcome"] = "tampered"
                verdict["changed"] = ["id"]
        except DatongError as error:
            return render(request, "licences/verify.html", status=error.status, verdict=None, identifier=identifier,
                          error=error.localised(locale), page_locale=locale)
    return render(request, "licences/verify.html", verdict=verdict, identifier=identifier, page_locale=locale)
