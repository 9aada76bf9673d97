"""Console pages for the registries: statistics with charts, a person's or company's profile
(read through the caller's grant, with a stated purpose), and the steward's review queue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from datong.api.deps import IdPath
from datong.errors import DatongError
from datong.registry import service
from datong.registry.spec import ENTITY, PERSON
from datong.security.authz import Actor, Target, is_allowed
from datong.web.pages import ConsoleActor, Csrf, localised, render

router = APIRouter(include_in_schema=False)
KINDS = (PERSON, ENTITY)


def _may_review(request: Request, actor: Actor) -> bool:
    with request.app.state.database.reading() as session:
        try:
            bureau = service.bureau_department(session)
        except DatongError:
            return False
    return is_allowed(actor, "registry.review", Target("registry", "review", bureau.id))


@router.get("/registry")
def overview(request: Request, actor: ConsoleActor):
    """Both registries at a glance: subjects, coverage per attribute, each source's linked share."""
    with request.app.state.database.reading() as session:
        stats = {kind: service.registry_stats(session, actor, kind=kind) for kind in KINDS}
    charts = {kind: {"coverage": {"labels": [c["name"] for c in s["coverage"]],
                                  "series": [["coverage", [c["share"] for c in s["coverage"]]]]},
                     "sources": {"labels": [src["name"] for src in s["sources"]],
                                 "series": [["linked", [src["share"] for src in s["sources"]]]]}}
              for kind, s in stats.items()}
    return render(request, "registry/overview.html", stats=stats, charts=charts, labels=service.LABELS,
                  may_review=_may_review(request, actor))


@router.get("/registry/profile")
def profile(request: Request, actor: ConsoleActor, key: Annotated[str, Query(max_length=32)] = "",
            purpose: Annotated[str, Query(max_length=500)] = "", case: Annotated[str, Query(max_length=100)] = ""):
    """一人一档 / 一企一档. Reading it is a read of personal data: it asks for the purpose first."""
    if not key.strip() or not purpose.strip():
        return render(request, "registry/profile.html", key=key, purpose=purpose, case=case, found=None,
                      labels=service.LABELS)
    try:
        with request.app.state.database.reading() as session:
            found = service.read_subject(session, actor, kind=service.kind_of(key), key=key, purpose=purpose,
                                         case_number=case or None)
    except DatongError as error:
        return render(request, "registry/profile.html", status=error.status, key=key, purpose=purpose, case=case,
                      found=None, error=localised(request, error), labels=service.LABELS)
    return render(request, "registry/profile.html", key=key, purpose=purpose, case=case, found=found,
                  labels=service.LABELS)


@router.get("/registry/reviews")
def reviews(request: Request, actor: ConsoleActor, kind: Annotated[str, Query(pattern="^(person|entity)$")] = PERSON,
            done: int | None = None):
    """Pairs the model could not decide, and records whose ID looks wrong, with both sides."""
    try:
        with request.app.state.database.reading() as session:
            found = service.list_reviews(session, actor, kind=kind)
    except DatongError as error:
        return render(request, "registry/reviews.html", status=error.status, kind=kind, found=None,
                      error=localised(request, error))
    return render(request, "registry/reviews.html", kind=kind, found=found, done=done)


@router.post("/registry/reviews/{review_id}", dependencies=[Csrf])
def decide(request: Request, actor: ConsoleActor, review_id: IdPath, decision: Annotated[str, Form()],
           kind: Annotated[str, Form(pattern="^(person|entity)$")] = PERSON, note: Annotated[str, Form()] = "") -> Response:
    try:
        with request.app.state.database.unit_of_work() as session:
            service.decide_review(session, actor, review_id=review_id, same=decision == "same", note=note)
    except DatongError as error:
        return render(request, "registry/reviews.html", status=error.status, kind=kind, found=None,
                      error=localised(request, error))
    return RedirectResponse(f"/registry/reviews?kind={kind}&done={review_id}", status_code=303)
