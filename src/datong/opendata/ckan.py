"""A read-only CKAN Action API over the catalog, so CKAN clients and harvesters work against datong.

Anonymous callers see the datasets published on the open-data portal, with their downloads as
CKAN resources; a bearer token (sent as CKAN clients send it, bare in ``Authorization``, or with
``Bearer``) shows the whole catalog, as staff and department systems may browse it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import exists, select

from datong import __version__
from datong.api.deps import actor_for_token
from datong.catalog import service
from datong.catalog.models import Resource
from datong.db.paging import escape_like
from datong.errors import DatongError, NotAuthenticated
from datong.opendata import dcat as open_dcat
from datong.opendata.models import PUBLISHED, RECORDS, OpenDataset
from datong.security.models import Department
from datong.security.service import get_department

router = APIRouter(prefix="/api", tags=["CKAN compatibility"])
EMULATED_CKAN = "2.10"


def _envelope(request: Request, result: Any) -> dict:
    return {"help": str(request.url.replace(query="")), "success": True, "result": result}


def _error(request: Request, status: int, kind: str, message: str) -> JSONResponse:
    body = {"help": str(request.url.replace(query="")), "success": False,
            "error": {"__type": kind, "message": message}}
    return JSONResponse(body, status_code=status)


def _authenticated(request: Request, session) -> bool:
    header = (request.headers.get("authorization") or request.headers.get("x-ckan-api-key") or "").strip()
    if not header:
        return False
    token = header.split(" ", 1)[1] if header.lower().startswith("bearer ") else header
    actor_for_token(request, token.strip())  # 401 unless the token and its account are good
    return True


class _Invalid(Exception):
    """A parameter CKAN would refuse with a Validation Error."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


class _NotFound(Exception):
    pass


ACTIONS: dict[str, Callable[..., Any]] = {}


def action(fn):
    """Register a read-only CKAN action by its function name."""
    ACTIONS[fn.__name__] = fn
    return fn


def _integer(params: dict, name: str, default: int | None, *, low: int = 0, high: int | None = None) -> int | None:
    value = params.get(name, default)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _Invalid(name, "Invalid integer") from None
    if number < low or (high is not None and number > high):
        raise _Invalid(name, f"Must be between {low} and {high}" if high is not None else f"Must be at least {low}")
    return number


def _flag(params: dict, name: str) -> bool:
    value = params.get(name, False)
    return value is True or str(value).lower() in ("true", "1", "yes")


def package_name(code: str) -> str:
    """CKAN names are lower-case letters, digits, - and _."""
    return re.sub(r"[^a-z0-9_-]+", "-", code.lower())


def _opened():
    """The resources whose records are published on the open-data portal."""
    return select(OpenDataset.resource_id).where(OpenDataset.status == PUBLISHED, OpenDataset.kind == RECORDS)


def _published(session, resources: list[Resource]) -> dict[int, OpenDataset]:
    ids = [r.id for r in resources]
    if not ids:
        return {}
    return {d.resource_id: d for d in session.scalars(select(OpenDataset).where(
        OpenDataset.resource_id.in_(ids), OpenDataset.status == PUBLISHED, OpenDataset.kind == RECORDS))}


def _base(request: Request) -> str:
    return request.app.state.database.sessions.kw["info"]["public_url"].rstrip("/")


def organization(department: Department) -> dict:
    return {"id": department.code, "name": department.code.lower(), "title": department.name,
            "display_name": department.name, "description": department.short_name or "",
            "type": "organization", "state": "active", "is_organization": True, "approval_status": "approved"}


def package(resource: Resource, opened: OpenDataset | None = None, base: str = "") -> dict:
    """A resource as a CKAN package; one published on the portal lists its downloads as resources."""
    tags = [{"name": k, "display_name": k} for k in resource.keywords]
    distributions = [
        {"id": f"{resource.code}#{method}", "package_id": resource.code, "name": method, "format": resource.format,
         "url": f"/api/v1/resources/{resource.code}", "state": "active"}
        for method in resource.sharing_methods
    ]
    if opened is not None:
        distributions = [
            {"id": f"{opened.code}.{d['format']}", "package_id": resource.code, "name": f"{opened.title} ({d['format']})",
             "format": d["file_type"], "mimetype": d["media_type"], "url": d["download_url"], "size": d["byte_size"],
             "state": "active", "url_type": None}
            for d in open_dcat.distributions(base, opened)
        ]
    extras = {"resource_code": resource.code, "sharing_type": resource.sharing_type,
              "sharing_condition": resource.sharing_condition, "open_type": resource.open_type,
              "update_cycle": resource.update_cycle, "category": resource.category,
              "attached": str(resource.attached).lower(),
              "data_items": ",".join(i.name for i in resource.items)}
    return {
        "id": resource.code, "name": package_name(resource.code), "title": resource.name,
        "notes": resource.summary, "type": "dataset", "state": "active",
        "private": opened is None,
        "license_id": opened.licence if opened is not None else None,
        "owner_org": resource.provider.code, "organization": organization(resource.provider),
        "metadata_created": resource.created_at.isoformat(), "metadata_modified": resource.updated_at.isoformat(),
        "tags": tags, "num_tags": len(tags), "resources": distributions, "num_resources": len(distributions),
        "extras": [{"key": k, "value": v} for k, v in extras.items()],
        "frequency": resource.update_cycle, "version": str(resource.version),
    }


def _visible(session, resource: Resource, signed_in: bool) -> bool:
    return signed_in or bool(_published(session, [resource]))


def _packages(request: Request, session, resources: list[Resource]) -> list[dict]:
    opened, base = _published(session, resources), _base(request)
    return [package(r, opened.get(r.id), base) for r in resources]


def _fq_filters(fq: str) -> dict[str, str]:
    filters = {}
    try:
        parts = shlex.split(fq or "")
    except ValueError:
        raise _Invalid("fq", "Unbalanced quotes") from None
    for part in parts:
        key, _, value = part.partition(":")
        if value:
            filters[key.lstrip("+")] = value.strip('"')
    return filters


#: fq fields and the catalog search filter each becomes (CKAN ignores other fields, and so do we).
_FQ = {"organization": "provider", "owner_org": "provider", "tags": "keyword", "res_format": "format"}


def _name_pattern(name: str) -> str:
    """A LIKE pattern over lower-cased codes that every code with this package name matches: each
    ``-`` of the name stands for a run of other characters. The few codes it finds are checked exactly."""
    return escape_like(name.lower()).replace("-", "%")


def _search(session, signed_in: bool, *, q: str = "", filters: dict[str, str] | None = None,
            limit: int = 10, offset: int = 0) -> tuple[list[Resource], int]:
    """Search the catalog in SQL with CKAN's filters; a department that does not exist matches nothing."""
    filters = filters or {}
    criteria = {_FQ[k]: v for k, v in filters.items() if k in _FQ}
    if "provider" in criteria:
        try:
            criteria["provider"] = get_department(session, criteria["provider"].upper()).code
        except DatongError:
            return [], 0
    name = filters.get("name")
    if name is None:
        return service.search_resources(session, q=q, only_open=not signed_in, among=None if signed_in else _opened(),
                                        limit=limit, offset=offset, **criteria)
    candidates, _ = service.search_resources(session, q=q, only_open=not signed_in, code_like=_name_pattern(name),
                                             among=None if signed_in else _opened(), limit=1000, **criteria)
    exact = [r for r in candidates if package_name(r.code) == name]
    return exact[offset:offset + limit], len(exact)


@action
def status_show(request: Request, session, signed_in: bool, params: dict):
    return {"site_title": "Datong 数通", "site_url": str(request.base_url).rstrip("/"),
            "site_description": "政务数据共享交换平台", "ckan_version": EMULATED_CKAN,
            "datong_version": __version__, "locale_default": "zh_Hans_CN", "extensions": ["datong"]}


@action
def package_list(request: Request, session, signed_in: bool, params: dict):
    limit = _integer(params, "limit", None)
    offset = _integer(params, "offset", 0)
    stmt = select(Resource.code).where(Resource.withdrawn_at.is_(None)).order_by(Resource.code).offset(offset)
    if not signed_in:
        stmt = stmt.where(Resource.id.in_(_opened()))
    if limit is not None:
        stmt = stmt.limit(limit)
    return [package_name(code) for code in session.scalars(stmt)]


def _find(session, key: str) -> Resource | None:
    try:
        return service.get_resource(session, key)
    except DatongError:
        found, _ = _search(session, True, filters={"name": key}, limit=1)
        return found[0] if found else None


@action
def package_show(request: Request, session, signed_in: bool, params: dict):
    key = str(params.get("id") or params.get("name_or_id") or "")
    if not key:
        raise _Invalid("id", "Missing value")
    resource = _find(session, key)
    if resource is None or not _visible(session, resource, signed_in):
        raise _NotFound()
    return _packages(request, session, [resource])[0]


@action
def package_search(request: Request, session, signed_in: bool, params: dict):
    q = str(params.get("q") or "")
    terms = "" if q.strip() in ("", "*:*") else q
    rows = _integer(params, "rows", 10, high=1000)
    start = _integer(params, "start", 0)
    filters = _fq_filters(str(params.get("fq") or ""))
    found, count = _search(session, signed_in, q=terms, filters=filters, limit=rows, offset=start)
    return {"count": count, "results": _packages(request, session, found),
            "sort": "name asc", "facets": {}, "search_facets": {}}


@action
def organization_list(request: Request, session, signed_in: bool, params: dict):
    stmt = select(Department).order_by(Department.code)
    if not signed_in:  # the public sees the departments that publish something
        stmt = stmt.where(exists(select(Resource.id).where(
            Resource.provider_id == Department.id, Resource.id.in_(_opened()),
            Resource.withdrawn_at.is_(None))))
    return [organization(d) if _flag(params, "all_fields") else d.code.lower() for d in session.scalars(stmt)]


@action
def organization_show(request: Request, session, signed_in: bool, params: dict):
    try:
        department = get_department(session, str(params.get("id") or "").upper())
    except DatongError:
        raise _NotFound() from None
    datasets = _flag(params, "include_datasets")
    resources, count = service.search_resources(session, provider=department.code, only_open=not signed_in,
                                                among=None if signed_in else _opened(), limit=1000 if datasets else 0)
    if not signed_in and not count:
        raise _NotFound()  # a department with nothing open is not published to the public
    result = organization(department) | {"package_count": count}
    if datasets:  # at most 1000, as CKAN's rows limit
        result["packages"] = _packages(request, session, resources)
    return result


def _run(request: Request, name: str, params: dict):
    try:
        with request.app.state.database.reading() as session:  # a read: never the write lock
            signed_in = _authenticated(request, session)
            return _envelope(request, ACTIONS[name](request, session, signed_in, params))
    except NotAuthenticated:
        return _error(request, 403, "Authorization Error", "Access denied: the token is not valid")
    except _NotFound:
        return _error(request, 404, "Not Found Error", "Not found")
    except _Invalid as invalid:
        body = {"help": str(request.url.replace(query="")), "success": False,
                "error": {"__type": "Validation Error", invalid.field: [invalid.message]}}
        return JSONResponse(body, status_code=409)


@router.get("/3/action/{name}", summary="A read-only CKAN action", operation_id="ckan_action_get")
@router.post("/3/action/{name}", summary="A read-only CKAN action (POST form)", operation_id="ckan_action_post")
@router.api_route("/action/{name}", methods=["GET", "POST"], include_in_schema=False)
async def dispatch(request: Request, name: str):
    """CKAN clients call actions with GET and a query string or POST and a JSON or form body, on
    ``/api/3/action/`` or on the unversioned ``/api/action/`` (as ckanapi does).
    Supported: package_list, package_show, package_search, organization_list, organization_show,
    status_show."""
    if name not in ACTIONS:
        return _error(request, 400, "Bad Request", f"Action name not known: {name}")
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                body = await request.json()
            except ValueError:
                return _error(request, 400, "Bad Request", "Bad request - JSON Error: could not read the body")
            if not isinstance(body, dict):
                return _error(request, 400, "Bad Request", "Bad request - JSON Error: expected an object")
            params.update(body)
        else:
            params.update(dict(await request.form()))
    return await run_in_threadpool(_run, request, name, params)
