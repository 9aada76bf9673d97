"""The open-data API: public dataset metadata, downloads and rows (with a key for 有条件开放
datasets, rate-limited), key applications, DCAT-AP; staff publish, withdraw and decide keys."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from datong.api.deps import ActorDep, IdPath, SessionDep, client_address
from datong.db.paging import Window
from datong.opendata import dcat, files, keys, score, service
from datong.opendata.models import API_CALL, DOWNLOAD, OpenDataset
from datong.sharing.api import RateLimiter, TooMany

router = APIRouter(tags=["open data"])
Format = Literal["csv", "xlsx", "json", "parquet"]


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resource: str = Field(max_length=64, description="The catalog resource's code")
    kind: Literal["records", "statistics"] = "records"
    licence: str = Field(default="CC-BY-4.0", max_length=32, description="SPDX identifier")
    contact_email: str = Field(default="", max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    spatial: str = Field(default="", pattern=r"^(\d{6})?$", description="The GB/T 2260 division it covers")
    temporal_start: date | None = None
    temporal_end: date | None = None


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class ApplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    applicant: str = Field(min_length=1, max_length=100)
    organisation: str = Field(default="", max_length=200)
    email: str = Field(max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    purpose: str = Field(min_length=10, max_length=2000)
    datasets: list[str] = Field(min_length=1, max_length=50)


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    per_minute: int = Field(default=60, ge=1, le=100_000)


def base_url(request: Request) -> str:
    return request.app.state.database.sessions.kw["info"]["public_url"].rstrip("/")


def dataset_out(request: Request, dataset: OpenDataset, used: dict | None = None, *, detail: bool = False) -> dict:
    resource, base = dataset.resource, base_url(request)
    out = {"code": dataset.code, "title": dataset.title, "description": dataset.description, "kind": dataset.kind,
           "access": dataset.access, "licence": dataset.licence, "provider": {"code": resource.provider.code,
                                                                            "name": resource.provider.name},
           "resource": resource.code, "update_cycle": resource.update_cycle, "keywords": resource.keywords,
           "theme": resource.theme, "published_at": dataset.published_at.isoformat(), "rows": dataset.rows,
           "built_at": dataset.built_at.isoformat() if dataset.built_at else None,
           "page": dcat.landing_page(base, dataset.code),
           "distributions": [{k: d[k] for k in ("format", "media_type", "download_url", "byte_size")}
                             for d in dcat.distributions(base, dataset)],
           "usage": used or {"view": 0, "download": 0, "api": 0}}
    if detail:
        result = score.score(dataset, base)
        out["items"] = ([{"name": c} for c in files.STATISTICS_COLUMNS] if dataset.kind == "statistics" else
                        [{"name": i.name, "data_type": i.data_type, "element": i.element.identifier if i.element else None}
                         for i in resource.items])
        out["quality"] = {"points": result.total, "of": score.MAXIMUM, "rating": result.rating,
                          "dimensions": {k: round(v, 1) for k, v in result.dimensions.items()},
                          "to_improve": result.missing(), "links_checked_at":
                              dataset.checked_at.isoformat() if dataset.checked_at else None}
        out["open_condition"] = resource.open_condition
    return out


def _limit(request: Request, key) -> None:
    state = request.app.state
    if getattr(state, "open_limiter", None) is None:
        state.open_limiter = RateLimiter(state.settings.rate_limit_storage, namespace="open")
    who, per_minute = ((f"key:{key.id}", key.per_minute) if key is not None
                       else (f"ip:{client_address(request)}", state.settings.open_rate_per_minute))
    wait = state.open_limiter.take(who, per_minute)
    if wait:
        error = TooMany(who=who, limit=per_minute, seconds=math.ceil(wait))
        error.headers = {"Retry-After": str(math.ceil(wait))}
        raise error


def _api_key(request: Request) -> str | None:
    return request.headers.get("x-api-key") or None


def _governed(request: Request, code: str) -> OpenDataset:
    """The dataset, once the caller's key (if it needs one) and rate limit allow the call."""
    with request.app.state.database.reading() as session:
        dataset = service.get_dataset(session, code)
        key = keys.check(session, dataset, _api_key(request))
    _limit(request, key)
    return dataset


@router.get("/api/v1/open/datasets")
def list_datasets(request: Request, q: Annotated[str, Query(max_length=200)] = "",
                  provider: Annotated[str | None, Query(max_length=18)] = None,
                  kind: Literal["records", "statistics"] | None = None,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[int, Query(ge=0)] = 0):
    """The published datasets (public)."""
    with request.app.state.database.reading() as session:
        found = service.list_datasets(session, q=q, provider=provider, kind=kind, page=Window(limit, offset))
        used = service.usage(session, [d.id for d in found])
        return {**found.counts(), "datasets": [dataset_out(request, d, used.get(d.id)) for d in found]}


@router.get("/api/v1/open/datasets/{code}")
def show_dataset(request: Request, code: str):
    """A dataset's metadata, items, downloads, usage and metadata quality score."""
    with request.app.state.database.reading() as session:
        dataset = service.get_dataset(session, code)
        out = dataset_out(request, dataset, service.usage(session, [dataset.id]).get(dataset.id), detail=True)
    request.app.state.open_usage.count(dataset.id, "view")
    return out


@router.get("/api/v1/open/datasets/{code}/download.{fmt}")
@router.head("/api/v1/open/datasets/{code}/download.{fmt}", include_in_schema=False)  # the size, before fetching
def download(request: Request, code: str, fmt: Format):
    """The dataset as a file, built from the store's last load of its resource."""
    dataset = _governed(request, code)
    path = files.file_for(request.app.state.database, dataset, fmt)
    if request.method == "GET":
        request.app.state.open_usage.count(dataset.id, DOWNLOAD)
    return FileResponse(path, media_type=files.FORMATS[fmt], filename=f"{dataset.code}.{fmt}")


@router.get("/api/v1/open/datasets/{code}/records")
def records(request: Request, code: str, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
            offset: Annotated[int, Query(ge=0)] = 0):
    """A page of the dataset's rows as JSON."""
    dataset = _governed(request, code)
    columns, rows, total = files.read_rows(request.app.state.database, dataset, limit=limit, offset=offset)
    request.app.state.open_usage.count(dataset.id, API_CALL)
    return {"dataset": dataset.code, "total": total, "offset": offset, "columns": columns,
            "records": [dict(zip(columns, row)) for row in rows]}


@router.get("/api/v1/open/catalog.{fmt}")
def catalog(request: Request, fmt: Literal["ttl", "jsonld"]):
    """The portal's datasets as DCAT-AP, for harvesters (data.europa.eu style)."""
    with request.app.state.database.reading() as session:
        datasets = list(service.list_datasets(session, page=Window(10_000, 0)))
        graph = dcat.graph(datasets, base_url(request))
    if fmt == "ttl":
        return Response(graph.serialize(format="turtle"), media_type="text/turtle; charset=utf-8")
    return Response(graph.serialize(format="json-ld"), media_type="application/ld+json")


@router.get("/api/v1/open/providers")
def providers(request: Request):
    """Per providing department: datasets, their average metadata score, and their use."""
    with request.app.state.database.reading() as session:
        return score.providers(session, base_url(request))


@router.post("/api/v1/open/applications", status_code=201)
def apply_for_key(request: Request, session: SessionDep, body: ApplyIn):
    """Apply for an API key (no account needed); the bureau decides, and the key is shown once."""
    keys.throttle_applications(request.app.state, client_address(request))
    application = keys.apply(session, applicant=body.applicant, email=body.email, purpose=body.purpose,
                             datasets=body.datasets, organisation=body.organisation)
    return {"id": application.id, "status": application.status, "datasets": application.datasets}


def application_out(a) -> dict:
    return {"id": a.id, "applicant": a.applicant, "organisation": a.organisation, "email": a.email,
            "purpose": a.purpose, "datasets": a.datasets, "status": a.status, "per_minute": a.per_minute,
            "key_hint": a.key_hint, "created_at": a.created_at.isoformat(), "decided_by": a.decided_by,
            "reason": a.reason}


@router.get("/api/v1/open/keys")
def list_keys(session: SessionDep, actor: ActorDep, status: Annotated[str | None, Query(max_length=16)] = None,
              limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[int, Query(ge=0)] = 0):
    found = keys.list_applications(session, actor, status=status, page=Window(limit, offset))
    return {**found.counts(), "applications": [application_out(a) for a in found]}


@router.post("/api/v1/open/keys/{application_id}/approve")
def approve_key(session: SessionDep, actor: ActorDep, application_id: IdPath, body: ApproveIn):
    application, key = keys.approve(session, actor, application_id=application_id, per_minute=body.per_minute)
    return {**application_out(application), "key": key}


@router.post("/api/v1/open/keys/{application_id}/refuse")
def refuse_key(session: SessionDep, actor: ActorDep, application_id: IdPath, body: ReasonIn):
    return application_out(keys.refuse(session, actor, application_id=application_id, reason=body.reason))


@router.post("/api/v1/open/keys/{application_id}/revoke")
def revoke_key(session: SessionDep, actor: ActorDep, application_id: IdPath, body: ReasonIn):
    return application_out(keys.revoke(session, actor, application_id=application_id, reason=body.reason))


@router.post("/api/v1/open/datasets", status_code=201)
def publish(request: Request, actor: ActorDep, body: PublishIn):
    """Publish a resource's records (refused if any item holds personal data) or its statistics."""
    database = request.app.state.database
    temporal = (body.temporal_start, body.temporal_end) if body.temporal_start and body.temporal_end else None
    with database.unit_of_work() as session:
        dataset = service.publish(session, actor, resource_code=body.resource, kind=body.kind, licence=body.licence,
                                  contact_email=body.contact_email, description=body.description,
                                  spatial=body.spatial, temporal=temporal)
        dataset_id, code = dataset.id, dataset.code
    try:
        files.build(database, dataset_id)
    except files.NoData:
        pass  # published before its first load: the files follow the load
    with database.reading() as session:
        return dataset_out(request, service.get_dataset(session, code), detail=True)


@router.post("/api/v1/open/datasets/{code}/withdraw")
def withdraw(session: SessionDep, actor: ActorDep, code: str, body: ReasonIn):
    dataset = service.withdraw(session, actor, code=code, reason=body.reason)
    return {"code": dataset.code, "status": dataset.status}
