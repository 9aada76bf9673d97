"""The open-data portal's public pages (datasets, a dataset with its preview, downloads, score and
use; providers; applying for an API key), and the console page where departments publish and
the bureau decides keys."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from datong.api.deps import IdPath, client_address
from datong.catalog.models import Resource
from datong.errors import DatongError, InvalidInput
from datong.i18n import N_, Term
from datong.opendata import dcat, files, keys, score, service
from datong.opendata.models import PENDING, PUBLISHED, OpenDataset
from datong.security.authz import Target, is_allowed
from datong.web.licence_pages import _visitor_locale
from datong.web.pages import ConsoleActor, Csrf, listing, localised, render

router = APIRouter(include_in_schema=False)
PREVIEW_ROWS = 10
WORDS = (N_("records"), N_("statistics"), N_("open"), N_("conditional"), N_("view"), N_("download"), N_("api"),
         N_("pending"), N_("approved"), N_("refused"), N_("revoked"), N_("published"), N_("withdrawn"))


def _base(request: Request) -> str:
    return request.app.state.database.sessions.kw["info"]["public_url"].rstrip("/")


def _error(request: Request, error: DatongError) -> str:
    return localised(request, error)


@router.get("/open")
def datasets_page(request: Request):
    q, page = listing(request)
    provider = (request.query_params.get("provider") or "").strip()[:18] or None
    with request.app.state.database.reading() as session:
        found = service.list_datasets(session, q=q or "", provider=provider, page=page)
        used = service.usage(session, [d.id for d in found])
    return render(request, "open/datasets.html", datasets=found, used=used, q=q or "", provider=provider, at=page,
                  page_locale=_visitor_locale(request))


@router.get("/open/providers")
def providers_page(request: Request):
    with request.app.state.database.reading() as session:
        rows = score.providers(session, _base(request))
    chart = {"labels": [r["name"] for r in rows], "series": [["score", [r["score"] for r in rows]]]}
    return render(request, "open/providers.html", providers=rows, chart=chart, maximum=score.MAXIMUM,
                  page_locale=_visitor_locale(request))


@router.get("/open/keys")
def apply_page(request: Request, dataset: str = ""):
    return render(request, "open/apply.html", dataset=dataset[:80], page_locale=_visitor_locale(request))


@router.post("/open/keys", dependencies=[Csrf])
def apply(request: Request, applicant: Annotated[str, Form(max_length=100)], email: Annotated[str, Form(max_length=200)],
          purpose: Annotated[str, Form(max_length=2000)], datasets: Annotated[str, Form(max_length=2000)],
          organisation: Annotated[str, Form(max_length=200)] = ""):
    form = {"applicant": applicant, "email": email, "purpose": purpose, "dataset": datasets, "organisation": organisation}
    try:
        if "@" not in email or len(purpose.strip()) < 10:
            raise InvalidInput(field="email" if "@" not in email else "purpose",
                               reason=Term(N_("give a mail address and say what the data is for")))
        keys.throttle_applications(request.app.state, client_address(request))
        with request.app.state.database.unit_of_work() as session:
            application = keys.apply(session, applicant=applicant, email=email, purpose=purpose,
                                     datasets=datasets.replace("，", ",").split(","), organisation=organisation)
            number = application.id
    except DatongError as error:
        return render(request, "open/apply.html", status=error.status, error=_error(request, error), **form,
                      page_locale=_visitor_locale(request))
    return render(request, "open/apply.html", applied=number, page_locale=_visitor_locale(request))


@router.get("/open/{code}")
def dataset_page(request: Request, code: str):
    database = request.app.state.database
    try:
        with database.reading() as session:
            dataset = service.get_dataset(session, code)
            used = service.usage(session, [dataset.id]).get(dataset.id, {})
            daily = service.daily_usage(session, dataset.id, since=date.today() - timedelta(days=29))
            items = dataset.resource.items
    except DatongError as error:
        return render(request, "open/dataset.html", status=error.status, dataset=None, error=_error(request, error),
                      page_locale=_visitor_locale(request))
    base = _base(request)
    result = score.score(dataset, base)
    columns, rows, preview_error = [], [], None
    if dataset.access == "open":
        try:
            columns, rows, _ = files.read_rows(database, dataset, limit=PREVIEW_ROWS)
        except DatongError as error:
            preview_error = _error(request, error)
    days = [(date.today() - timedelta(days=n)) for n in range(29, -1, -1)]
    by_day = {(d, k): c for d, k, c in daily}
    chart = {"labels": [d.strftime("%m-%d") for d in days],
             "series": [[kind, [by_day.get((d, kind), 0) for d in days]] for kind in ("view", "download", "api")]}
    dims = {"labels": list(score.DIMENSIONS), "series": [["points", [round(result.dimensions[k]) for k in score.DIMENSIONS]]]}
    request.app.state.open_usage.count(dataset.id, "view")
    return render(request, "open/dataset.html", dataset=dataset, items=items, used=used, score=result,
                  dimensions=score.DIMENSIONS, indicators=score.INDICATORS, maximum=score.MAXIMUM,
                  distributions=dcat.distributions(base, dataset), columns=columns, rows=rows,
                  preview_error=preview_error, chart=chart, dims=dims, page_locale=_visitor_locale(request))


# --- the console: publish, withdraw, decide keys ---------------------------------------------------


def _manage(request: Request, actor, status: int = 200, **context):
    with request.app.state.database.reading() as session:
        resources = [r for r in session.scalars(select(Resource).where(Resource.withdrawn_at.is_(None))
                                                .order_by(Resource.code))
                     if is_allowed(actor, "opendata.publish", Target("resource", r.code, department_id=r.provider_id))]
        mine = {r.id for r in resources}
        datasets = [d for d in session.scalars(select(OpenDataset).where(OpenDataset.status == PUBLISHED)
                                               .order_by(OpenDataset.code)) if d.resource_id in mine]
        may_keys = is_allowed(actor, "opendata.keys", Target("open_key"))
        applications = list(keys.list_applications(session, actor)) if may_keys else []
        refusals = {r.code: service.personal_items(r) for r in resources}
    return render(request, "open/manage.html", status=status, resources=resources, datasets=datasets,
                  applications=applications, may_keys=may_keys, refusals=refusals, licences=list(service.LICENCES),
                  pending=PENDING, **context)


@router.get("/opendata")
def manage_page(request: Request, actor: ConsoleActor):
    return _manage(request, actor)


@router.post("/opendata/publish", dependencies=[Csrf])
def publish(request: Request, actor: ConsoleActor, resource: Annotated[str, Form(max_length=64)],
            kind: Annotated[str, Form(max_length=16)] = "records", licence: Annotated[str, Form(max_length=32)] = "CC-BY-4.0",
            contact_email: Annotated[str, Form(max_length=200)] = "", spatial: Annotated[str, Form(max_length=6)] = ""):
    database = request.app.state.database
    try:
        with database.unit_of_work() as session:
            dataset = service.publish(session, actor, resource_code=resource, kind=kind, licence=licence,
                                      contact_email=contact_email, spatial=spatial if spatial.isdigit() else "")
            dataset_id, code = dataset.id, dataset.code
    except DatongError as error:
        return _manage(request, actor, status=error.status, error=localised(request, error))
    try:
        files.build(database, dataset_id)
    except files.NoData:
        pass  # its files follow its first load
    return RedirectResponse(f"/open/{code}", status_code=303)


@router.post("/opendata/{code}/withdraw", dependencies=[Csrf])
def withdraw(request: Request, actor: ConsoleActor, code: str, reason: Annotated[str, Form(min_length=1, max_length=2000)]):
    try:
        with request.app.state.database.unit_of_work() as session:
            service.withdraw(session, actor, code=code, reason=reason)
    except DatongError as error:
        return _manage(request, actor, status=error.status, error=localised(request, error))
    return RedirectResponse("/opendata", status_code=303)


@router.post("/opendata/keys/{application_id}/{decision}", dependencies=[Csrf])
def decide_key(request: Request, actor: ConsoleActor, application_id: IdPath, decision: str,
               reason: Annotated[str, Form(max_length=2000)] = "", per_minute: Annotated[int, Form(ge=1, le=100_000)] = 60):
    new_key = None
    try:
        with request.app.state.database.unit_of_work() as session:
            if decision == "approve":
                _, new_key = keys.approve(session, actor, application_id=application_id, per_minute=per_minute)
            elif decision == "refuse":
                keys.refuse(session, actor, application_id=application_id, reason=reason or "—")
            else:
                keys.revoke(session, actor, application_id=application_id, reason=reason or "—")
    except DatongError as error:
        return _manage(request, actor, status=error.status, error=localised(request, error))
    return _manage(request, actor, new_key=new_key, new_key_for=application_id)
