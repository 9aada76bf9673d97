"""Console pages of the catalog: browse and search, a resource, its form, Excel import, the data
element dictionary and the 一数一源 table."""

from __future__ import annotations

import base64

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from datong import events
from datong.api.deps import MAX_ID, IdPath
from datong.catalog import service, sources, transfer
from datong.catalog.schemas import ResourceIn
from datong.catalog.vocab import Category, DataType, KeyKind, OpenType, Sensitivity, SharingMethod, SharingType, UpdateCycle
from datong.errors import DatongError, InvalidInput
from datong.i18n import N_, Message, translate
from datong.security.authz import Actor, Target, is_allowed
from datong.security.service import list_departments
from datong.sharing.service import may_request
from datong.web.pages import ConsoleActor, Csrf, listing, localised, render
from datong.web.render import console_locale

router = APIRouter(include_in_schema=False)
BLANK_ITEM_ROWS = 3
CHOICES = {"categories": list(Category), "sharing_types": list(SharingType), "open_types": list(OpenType),
           "methods": list(SharingMethod), "cycles": list(UpdateCycle), "sensitivities": list(Sensitivity),
           "data_types": list(DataType), "key_kinds": list(KeyKind)}


def _may_edit(actor: Actor, department_id: int | None) -> bool:
    return is_allowed(actor, "resource.edit", Target("resource", department_id=department_id))


@router.get("/catalog")
def catalog(request: Request, actor: ConsoleActor, q: str = "", provider: str = "", sharing_type: str = "",
            open_type: str = "", attached: str = "",
            offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0):
    filters = {"q": q.strip(), "provider": provider, "sharing_type": sharing_type, "open_type": open_type,
               "attached": attached}
    with request.app.state.database.reading() as session:
        resources, total = service.search_resources(
            session, q=filters["q"] or None, provider=provider or None, sharing_type=sharing_type or None,
            open_type=open_type or None, attached={"yes": True, "no": False}.get(attached), limit=50, offset=offset,
        )
        departments = list_departments(session, actor)
        return render(request, "catalog/list.html", resources=resources, total=total, filters=filters,
                      departments=departments, offset=offset, may_create=_may_edit(actor, actor.department_id),
                      **CHOICES)


@router.get("/catalog/template.xlsx")
def template(actor: ConsoleActor):
    return Response(transfer.template_workbook(),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename*=UTF-8''catalog-template.xlsx"})


@router.get("/catalog/import")
def import_form(request: Request, actor: ConsoleActor):
    return render(request, "catalog/import.html")


#: A catalogue waiting for its confirmation travels in the preview page (no server state, any
#: process may take the confirmation); catalogues are small, and larger files are refused.
PREVIEW_LIMIT = 4 * 1024 * 1024


@router.post("/catalog/import", dependencies=[Csrf])
async def import_upload(request: Request, actor: ConsoleActor):
    """Two steps: the file is checked and its changes shown (a dry run); the confirmation, which
    carries the same file, imports it."""
    form = await request.form()
    upload, locale = form.get("file"), console_locale(request)
    if upload is not None and not isinstance(upload, str):
        filename, content = upload.filename or "", await upload.read()
    else:
        filename = str(form.get("filename") or "")
        try:
            content = base64.b64decode(str(form.get("content") or ""), validate=True)
        except ValueError:
            content = b""
    confirm = form.get("step") == "confirm"
    if len(content) > PREVIEW_LIMIT:
        return render(request, "catalog/import.html", status=413, filename=filename, error=translate(
            locale, N_("The catalogue is larger than {mb} MB; split it, or use datong catalog import."), mb=4))
    try:
        with request.app.state.database.unit_of_work() as session:
            result = transfer.import_catalog(session, actor, filename=filename, content=content, dry_run=not confirm)
    except transfer.CatalogRejected as rejected:
        rows = [(p.sheet, p.row, p.column, p.localise(locale)) for p in rejected.problems]
        return render(request, "catalog/import.html", status=422, error=rejected.localised(locale),
                      problems=rows, filename=filename)
    return render(request, "catalog/import.html", result=result, filename=filename,
                  content=base64.b64encode(content).decode() if not confirm else None)


@router.get("/catalog/elements")
def elements(request: Request, actor: ConsoleActor):
    q, at = listing(request)
    with request.app.state.database.reading() as session:
        found = service.list_elements(session, q=q, page=at)
        return render(request, "catalog/elements.html", elements=found, q=q or "", at=at)


@router.get("/catalog/sources")
def source_table(request: Request, actor: ConsoleActor):
    return _sources_page(request, actor)


def _sources_page(request: Request, actor: Actor, status: int = 200, **context) -> Response:
    with request.app.state.database.reading() as session:
        claims = sources.list_claims(session)
        by_element: dict[str, list] = {}
        for claim in claims:
            by_element.setdefault(claim.element.identifier, []).append(claim)
        may_decide = is_allowed(actor, "source.resolve", Target("source"))
        return render(request, "catalog/sources.html", status=status, by_element=by_element,
                      may_decide=may_decide, **context)


@router.post("/catalog/sources/{claim_id}/decision", dependencies=[Csrf])
def decide_source(request: Request, actor: ConsoleActor, claim_id: IdPath, reason: Annotated[str, Form()]):
    try:
        with request.app.state.database.unit_of_work() as session:
            sources.resolve_source(session, actor, claim_id=claim_id, reason=reason)
    except DatongError as error:
        return _sources_page(request, actor, status=error.status, error=localised(request, error))
    return _sources_page(request, actor, decided=True)


# --- one resource -------------------------------------------------------------------------------


def _form_items(form) -> list[dict]:
    items = []
    i = -1
    while f"items-{(i := i + 1)}-name" in form:
        name = (form.get(f"items-{i}-name") or "").strip()
        if not name:
            continue
        item = {"name": name}
        for field in ("element", "data_type", "sensitivity", "key", "note"):
            value = (form.get(f"items-{i}-{field}") or "").strip()
            if value:
                item[field] = value
        if (length := (form.get(f"items-{i}-length") or "").strip()).isdigit():
            item["length"] = int(length)
        items.append(item)
    return items


def _form_data(form) -> dict:
    data = {key: (form.get(key) or "").strip() for key in (
        "code", "name", "provider", "summary", "category", "theme", "format", "sharing_type",
        "sharing_condition", "open_type", "open_condition", "update_cycle", "published_on")}
    data["keywords"] = [k for k in (form.get("keywords") or "").replace("，", " ").replace("、", " ").split() if k]
    data["sharing_methods"] = form.getlist("sharing_methods")
    data["items"] = _form_items(form)
    return {k: v for k, v in data.items() if v not in ("", None)}


def _form_page(request: Request, actor: Actor, *, resource=None, data: dict | None = None, status: int = 200,
               error: str | None = None) -> Response:
    with request.app.state.database.reading() as session:
        departments = [d for d in list_departments(session, actor) if _may_edit(actor, d.id)]
        element_list = service.list_elements(session)
        if data is None and resource is not None:
            data = service.snapshot(resource)
            data["provider"] = resource.provider.code
            data["items"] = [dict(i, key=i["key"]) for i in data["items"]]
        data = data or {"provider": actor.department_code, "sharing_methods": ["api"], "items": []}
        rows = list(data.get("items", [])) + [{}] * BLANK_ITEM_ROWS
        return render(request, "catalog/form.html", status=status, data=data, rows=rows, resource=resource,
                      departments=departments, elements=element_list, error=error, **CHOICES)


@router.get("/catalog/new")
def new_resource(request: Request, actor: ConsoleActor):
    return _form_page(request, actor)


def _validated(form_data: dict) -> ResourceIn:
    """The form as a resource, or one error naming every field at fault, items by their row
    (counted from 1, as the form shows them) and name."""
    try:
        return ResourceIn.model_validate(form_data)
    except ValidationError as exc:
        problems = [_Located(e, form_data.get("items", [])) for e in exc.errors()]
        raise InvalidInput(field=_Joined(problems), reason=problems[0].reason) from None


class _Located:
    def __init__(self, error: dict, items: list[dict]) -> None:
        loc, self.reason = error["loc"], error["msg"]
        if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int):
            name = items[loc[1]].get("name", "") if loc[1] < len(items) else ""
            self.field = Message(N_("data item row {row} ({name}), {field}"), row=loc[1] + 1, name=name,
                                 field=".".join(map(str, loc[2:])) or "-")
        else:
            self.field = ".".join(map(str, loc))

    def localise(self, locale: str) -> str:
        return self.field.localise(locale) if isinstance(self.field, Message) else self.field


class _Joined:
    def __init__(self, parts: list[_Located]) -> None:
        self.parts = parts

    def localise(self, locale: str) -> str:
        return "; ".join(p.localise(locale) for p in self.parts)


@router.post("/catalog/new", dependencies=[Csrf])
async def create_resource(request: Request, actor: ConsoleActor):
    data = _form_data(await request.form())
    try:
        with request.app.state.database.unit_of_work() as session:
            created = service.create_resource(session, actor, data=_validated(data))
            code = created.code
    except DatongError as error:
        return _form_page(request, actor, data=data, status=error.status, error=localised(request, error))
    return RedirectResponse(f"/catalog/r/{code}", status_code=303)


@router.get("/catalog/r/{code:path}/edit")
def edit_resource(request: Request, actor: ConsoleActor, code: str):
    with request.app.state.database.reading() as session:
        resource = service.get_resource(session, code)
        return _form_page(request, actor, resource=resource)


@router.post("/catalog/r/{code:path}/edit", dependencies=[Csrf])
async def update_resource(request: Request, actor: ConsoleActor, code: str):
    data = _form_data(await request.form())
    data["code"] = code
    try:
        with request.app.state.database.unit_of_work() as session:
            service.update_resource(session, actor, code=code, data=_validated(data))
    except DatongError as error:
        with request.app.state.database.reading() as session:
            resource = service.get_resource(session, code)
            return _form_page(request, actor, resource=resource, data=data, status=error.status,
                              error=localised(request, error))
    return RedirectResponse(f"/catalog/r/{code}", status_code=303)


@router.get("/catalog/r/{code:path}")
def resource_page(request: Request, actor: ConsoleActor, code: str):
    with request.app.state.database.reading() as session:
        resource = service.get_resource(session, code)
        history = service.resource_history(session, code)
        return render(request, "catalog/resource.html", resource=resource, history=history,
                      may_edit=_may_edit(actor, resource.provider_id), may_request=may_request(actor, resource),
                      may_withdraw=is_allowed(actor, "resource.withdraw", Target(
                          "resource", resource.code, resource.provider_id)))


@router.post("/catalog/r/{code:path}/withdraw", dependencies=[Csrf])
def withdraw(request: Request, actor: ConsoleActor, code: str, reason: Annotated[str, Form()]):
    database = request.app.state.database
    try:
        with database.unit_of_work() as session:
            service.withdraw_resource(session, actor, code=code, reason=reason)
    except DatongError as error:
        with database.reading() as session:
            return render(request, "catalog/resource.html", status=error.status, resource=service.get_resource(
                session, code), history=service.resource_history(session, code), error=localised(request, error))
    events.dispatch(database)  # grants, subscriptions and requests follow at once
    return RedirectResponse(f"/catalog/r/{code}", status_code=303)
