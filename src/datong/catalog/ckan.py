"""A read-only CKAN Action API over the catalog, so CKAN clients and tools work against datong.

Anonymous callers see the resources open to the public; a bearer token (sent as CKAN clients
send it, bare in ``Authorization``, or with ``Bearer``) shows the whole catalog, as staff and
department systems may browse it.
"""

from __future__ import annotations

import functools
import re
import shlex
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from datong import __version__
from datong.catalog import service
from datong.catalog.models import Resource
from datong.catalog.vocab import OpenType
from datong.errors import DatongError, NotAuthenticated
from datong.security.models import Department
from datong.security.service import actor_from_claims, get_department
from datong.security.tokens import read_token

router = APIRouter(prefix="/api/3/action", tags=["CKAN compatibility"])
EMULATED_CKAN = "2.10"


def _envelope(request: Request, result: Any) -> dict:
    return {"help": str(request.url.replace(query="")), "success": True, "result": result}


def _error(request: Request, status: int, kind: str, message: str) -> JSONResponse:
    body = {"help": str(request.url.replace(query="")), "success": False,
            "error": {"__type": kind, "message": message}}
    return JSONResponse(body, status_code=status)


def _authenticated(request: Request, session) -> bool:
    header = request.headers.get("authorization", "").strip()
    if not header:
        return False
    token = header.split(" ", 1)[1] if header.lower().startswith("bearer ") else header
    if actor_from_claims(session, read_token(secret=request.app.state.secret, token=token.strip())) is None:
        raise NotAuthenticated()
    return True


def action(fn):
    """A CKAN action: a refused token is answered in CKAN's envelope, not as a problem document."""

    @functools.wraps(fn)
    def wrapper(request: Request, *args, **kwargs):
        try:
            return fn(request, *args, **kwargs)
        except NotAuthenticated:
            return _error(request, 403, "Authorization Error", "Access denied: the token is not valid")

    return wrapper


def package_name(code: str) -> str:
    """CKAN names are lower-case letters, digits, - and _."""
    return re.sub(r"[^a-z0-9_-]+", "-", code.lower())


def organization(department: Department) -> dict:
    return {"id": department.code, "name": department.code.lower(), "title": department.name,
            "display_name": department.name, "description": department.short_name or "",
            "type": "organization", "state": "active", "is_organization": True, "approval_status": "approved"}


def package(resource: Resource) -> dict:
    tags = [{"name": k, "display_name": k} for k in resource.keywords]
    distributions = [
        {"id": f"{resource.code}#{method}", "package_id": resource.code, "name": method, "format": resource.format,
         "url": f"/api/v1/resources/{resource.code}", "state": "active"}
        for method in resource.sharing_methods
    ]
    extras = {"resource_code": resource.code, "sharing_type": resource.sharing_type,
              "sharing_condition": resource.sharing_condition, "open_type": resource.open_type,
              "update_cycle": resource.update_cycle, "category": resource.category,
              "attached": str(resource.attached).lower(),
              "data_items": ",".join(i.name for i in resource.items)}
    return {
        "id": resource.code, "name": package_name(resource.code), "title": resource.name,
        "notes": resource.summary, "type": "dataset", "state": "active",
        "private": resource.open_type == OpenType.NONE.value,
        "owner_org": resource.provider.code, "organization": organization(resource.provider),
        "metadata_created": resource.created_at.isoformat(), "metadata_modified": resource.updated_at.isoformat(),
        "tags": tags, "num_tags": len(tags), "resources": distributions, "num_resources": len(distributions),
        "extras": [{"key": k, "value": v} for k, v in extras.items()],
        "frequency": resource.update_cycle, "version": str(resource.version),
    }


def _visible(resource: Resource, signed_in: bool) -> bool:
    return signed_in or resource.open_type != OpenType.NONE.value


def _fq_filters(fq: str) -> dict[str, str]:
    filters = {}
    for part in shlex.split(fq or ""):
        key, _, value = part.partition(":")
        if value:
            filters[key.lstrip("+")] = value.strip('"')
    return filters


def _matches(resource: Resource, filters: dict[str, str]) -> bool:
    checks = {
        "organization": lambda v: resource.provider.code.lower() == v.lower(),
        "owner_org": lambda v: resource.provider.code.lower() == v.lower(),
        "tags": lambda v: v in resource.keywords,
        "res_format": lambda v: v == resource.format,
        "name": lambda v: package_name(resource.code) == v,
    }
    return all(checks[k](v) for k, v in filters.items() if k in checks)


@router.get("/status_show")
def status_show(request: Request):
    return _envelope(request, {"site_title": "Datong 数通", "site_url": str(request.base_url).rstrip("/"),
                               "site_description": "政务数据共享交换平台", "ckan_version": EMULATED_CKAN,
                               "datong_version": __version__, "locale_default": "zh_Hans_CN",
                               "extensions": ["datong"]})


@router.get("/package_list")
@action
def package_list(request: Request, limit: int | None = None, offset: int = 0):
    with request.app.state.database.unit_of_work() as session:
        signed_in = _authenticated(request, session)
        resources, _ = service.search_resources(session, only_open=not signed_in, limit=100_000)
        names = [package_name(r.code) for r in resources]
    return _envelope(request, names[offset: offset + limit if limit else None])


def _find(session, key: str) -> Resource | None:
    try:
        return service.get_resource(session, key)
    except DatongError:
        resources, _ = service.search_resources(session, limit=100_000)
        return next((r for r in resources if package_name(r.code) == key), None)


@router.get("/package_show")
@action
def package_show(request: Request, id: str):
    with request.app.state.database.unit_of_work() as session:
        signed_in = _authenticated(request, session)
        resource = _find(session, id)
        if resource is None or not _visible(resource, signed_in):
            return _error(request, 404, "Not Found Error", "Not found")
        return _envelope(request, package(resource))


@router.get("/package_search")
@action
def package_search(request: Request, q: str = "", fq: str = "",
                   rows: Annotated[int, Query(ge=0, le=1000)] = 10, start: Annotated[int, Query(ge=0)] = 0):
    terms = "" if q.strip() in ("", "*:*") else q
    with request.app.state.database.unit_of_work() as session:
        signed_in = _authenticated(request, session)
        resources, _ = service.search_resources(session, q=terms, only_open=not signed_in, limit=100_000)
        filters = _fq_filters(fq)
        matched = [r for r in resources if _matches(r, filters)]
        results = [package(r) for r in matched[start: start + rows]]
    return _envelope(request, {"count": len(matched), "results": results, "sort": "name asc",
                               "facets": {}, "search_facets": {}})


@router.get("/organization_list")
@action
def organization_list(request: Request, all_fields: bool = False):
    with request.app.state.database.unit_of_work() as session:
        signed_in = _authenticated(request, session)
        resources, _ = service.search_resources(session, only_open=not signed_in, limit=100_000)
        providers = {r.provider.code: r.provider for r in resources}
        if signed_in:
            providers.update({d.code: d for d in session.scalars(select(Department))})
        ordered = sorted(providers.values(), key=lambda d: d.code)
        return _envelope(request, [organization(d) if all_fields else d.code.lower() for d in ordered])


@router.get("/organization_show")
@action
def organization_show(request: Request, id: str, include_datasets: bool = False):
    with request.app.state.database.unit_of_work() as session:
        signed_in = _authenticated(request, session)
        try:
            department = get_department(session, id)
        except DatongError:
            return _error(request, 404, "Not Found Error", "Not found")
        resources, _ = service.search_resources(session, provider=department.code, only_open=not signed_in,
                                                limit=100_000)
        if not signed_in and not resources:
            return _error(request, 404, "Not Found Error", "Not found")
        result = organization(department) | {"package_count": len(resources)}
        if include_datasets:
            result["packages"] = [package(r) for r in resources]
        return _envelope(request, result)
