"""Thin HTTP handlers for the catalog."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from datong import events

from datong.api.deps import ActorDep, IdPath, SessionDep
from datong.api.paging import Page, WindowDep, next_link, page
from datong.db.paging import Found
from datong.catalog import dcat, service, sources
from datong.catalog.schemas import (
    CodeListIn, CodeListOut, DataElementIn, DataElementOut, ResourceIn, ResourceOut,
    SourceClaimIn, SourceClaimOut, SourceDecisionIn, VersionOut,
)
from datong.catalog.vocab import Category, OpenType, SharingType

router = APIRouter(prefix="/api/v1", tags=["catalog"])


@router.get("/resources", response_model=Page[ResourceOut])
def list_resources(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    at: WindowDep,
    q: Annotated[str | None, Query(description="Words that must all occur (Chinese or English)")] = None,
    provider: str | None = None,
    sharing_type: SharingType | None = None,
    open_type: OpenType | None = None,
    category: Category | None = None,
    attached: bool | None = None,
    withdrawn: Annotated[str, Query(pattern="^(false|true|any)$",
                                    description="false: resources in use; true: withdrawn ones; any: both")] = "false",
):
    items, total = service.search_resources(
        session, q=q, provider=provider, sharing_type=sharing_type, open_type=open_type,
        category=category, attached=attached, withdrawn={"false": False, "true": True, "any": None}[withdrawn], limit=at.limit, offset=at.offset,
    )
    return page(request, Found(items, total), at, ResourceOut.of)


@router.post("/resources", response_model=ResourceOut, status_code=201)
def create_resource(body: ResourceIn, session: SessionDep, actor: ActorDep):
    return ResourceOut.of(service.create_resource(session, actor, data=body))


@router.get("/resources/{code:path}/history", response_model=Page[VersionOut])
def resource_history(request: Request, code: str, session: SessionDep, actor: ActorDep, at: WindowDep):
    """Newest version first."""
    return page(request, service.resource_history(session, code, page=at), at, VersionOut.model_validate)


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


@router.post("/resources/{code:path}/withdraw", response_model=ResourceOut)
def withdraw_resource(request: Request, code: str, body: WithdrawIn, session: SessionDep, actor: ActorDep):
    """撤销: the resource stays listed as withdrawn; nothing more is loaded or requested; its grants
    are revoked, its subscriptions ended and its pending requests rejected (right after the
    answer, and on every worker round); its records and loads are kept."""
    resource = service.withdraw_resource(session, actor, code=code, reason=body.reason)
    return JSONResponse(ResourceOut.of(resource).model_dump(mode="json"),
                        background=BackgroundTask(events.dispatch, request.app.state.database))


@router.get("/resources/{code:path}", response_model=ResourceOut)
def get_resource(code: str, session: SessionDep, actor: ActorDep):
    return ResourceOut.of(service.get_resource(session, code))


@router.put("/resources/{code:path}", response_model=ResourceOut)
def update_resource(code: str, body: ResourceIn, session: SessionDep, actor: ActorDep):
    resource, _changes = service.update_resource(session, actor, code=code, data=body)
    return ResourceOut.of(resource)


@router.get("/data-elements", response_model=Page[DataElementOut])
def list_elements(request: Request, session: SessionDep, actor: ActorDep, at: WindowDep, q: str | None = None):
    return page(request, service.list_elements(session, q=q, page=at), at, DataElementOut.of)


@router.post("/data-elements", response_model=DataElementOut, status_code=201)
def create_element(body: DataElementIn, session: SessionDep, actor: ActorDep):
    return DataElementOut.of(service.create_element(session, actor, data=body))


@router.get("/code-lists", response_model=Page[CodeListOut])
def list_code_lists(request: Request, session: SessionDep, actor: ActorDep, at: WindowDep):
    return page(request, service.list_code_lists(session, page=at), at, lambda c: CodeListOut(
        identifier=c.identifier, name=c.name, name_en=c.name_en,
        entries=[{"value": e.value, "label": e.label, "label_en": e.label_en} for e in c.entries]))


@router.post("/code-lists", response_model=CodeListOut, status_code=201)
def create_code_list(body: CodeListIn, session: SessionDep, actor: ActorDep):
    service.create_code_list(session, actor, data=body)
    return body


def _claim_out(claim) -> SourceClaimOut:
    return SourceClaimOut(
        id=claim.id, element=claim.element.identifier, element_name=claim.element.name,
        department=claim.department.code, department_name=claim.department.name,
        resource=None, status=claim.status, claimed_by=claim.claimed_by, claimed_at=claim.claimed_at,
        decided_by=claim.decided_by, reason=claim.reason,
    )


@router.get("/authoritative-sources", response_model=Page[SourceClaimOut])
def list_sources(request: Request, session: SessionDep, actor: ActorDep, at: WindowDep, status: str | None = None):
    return page(request, sources.list_claims(session, status=status, page=at), at, _claim_out)


@router.post("/authoritative-sources", response_model=SourceClaimOut, status_code=201)
def claim_source(body: SourceClaimIn, session: SessionDep, actor: ActorDep):
    claim = sources.claim_source(session, actor, element=body.element, department=body.department,
                                 resource=body.resource)
    return _claim_out(claim)


@router.post("/authoritative-sources/{claim_id}/decision", response_model=SourceClaimOut)
def resolve_source(claim_id: IdPath, body: SourceDecisionIn, session: SessionDep, actor: ActorDep):
    return _claim_out(sources.resolve_source(session, actor, claim_id=claim_id, reason=body.reason))


@router.get("/catalog/dcat")
def catalog_dcat(request: Request, session: SessionDep, actor: ActorDep,
                 format: Annotated[str, Query(pattern="^(ttl|jsonld)$")] = "ttl",
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0, le=2**31)] = 0):
    """The catalog in DCAT, a page at a time: the page is a Hydra PartialCollectionView with its
    ``next`` link (also sent as ``Link: <…>; rel="next"``)."""
    resources, total = service.search_resources(session, limit=limit, offset=offset)
    more = offset + len(resources) < total and bool(resources)
    view = {"id": str(request.url), "first": str(request.url.include_query_params(offset=0)),
            "next": str(request.url.include_query_params(offset=offset + limit)) if more else None, "total": total}
    body, media_type = dcat.serialise(resources, format, view)
    headers = {"Link": f'<{next_link(request, offset=offset + limit)}>; rel="next"'} if more else {}
    return Response(body, media_type=media_type, headers=headers)
