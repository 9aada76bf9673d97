"""The registries' API: a person's or company's golden record with provenance, search, statistics,
the steward's review queue and the bureau's precedence lists. Reads of personal data go through
the caller's sharing grant on 人口综合库 / 法人综合库, with a purpose, masking and an audit event."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from datong.api.deps import ActorDep, IdPath, SessionDep
from datong.registry import service
from datong.registry.spec import ENTITY, PERSON
from datong.sharing.api import _limit, case_from, purpose_from

router = APIRouter(prefix="/api/v1/registry", tags=["registry"])
Kind = Literal["person", "entity"]
Purpose = Annotated[str | None, Header(description="Why you read it (percent-encoded UTF-8)")]
CaseNo = Annotated[str | None, Header(description="The application or case number behind the read")]


def _read(request: Request, actor, read):
    """A read transaction that never waits for a writer; the answer leaves after its audit event."""
    _limit(request.app.state, actor)
    with request.app.state.database.reading() as session:
        return read(session)


@router.get("/persons/{id_number}")
def person(request: Request, actor: ActorDep, id_number: str, x_purpose: Purpose = None, x_case_no: CaseNo = None):
    """一人一档: the person's golden record (the items your grant on 人口综合库 covers, masked as it
    says), each attribute's source, the other sources' values, and its history."""
    purpose, case = purpose_from(x_purpose), case_from(x_case_no)
    return _read(request, actor, lambda s: service.read_subject(s, actor, kind=PERSON, key=id_number,
                                                                purpose=purpose, case_number=case))


@router.get("/entities/{credit_code}")
def entity(request: Request, actor: ActorDep, credit_code: str, x_purpose: Purpose = None, x_case_no: CaseNo = None):
    """一企一档: the company's golden record, as for a person, through a grant on 法人综合库."""
    purpose, case = purpose_from(x_purpose), case_from(x_case_no)
    return _read(request, actor, lambda s: service.read_subject(s, actor, kind=ENTITY, key=credit_code,
                                                                purpose=purpose, case_number=case))


@router.get("/persons")
def search_persons(request: Request, actor: ActorDep, name: Annotated[str, Query(min_length=1, max_length=50)],
                   birth: date | None = None, x_purpose: Purpose = None, x_case_no: CaseNo = None):
    """People by exact name (and birth date), for callers holding a grant on 人口综合库."""
    purpose, case = purpose_from(x_purpose), case_from(x_case_no)
    return _read(request, actor, lambda s: service.search_subjects(s, actor, kind=PERSON, name=name, birth=birth,
                                                                   purpose=purpose, case_number=case))


@router.get("/entities")
def search_entities(request: Request, actor: ActorDep, name: Annotated[str, Query(min_length=2, max_length=100)],
                    x_purpose: Purpose = None, x_case_no: CaseNo = None):
    """Companies whose registered name contains ``name``, for callers holding a grant on 法人综合库."""
    purpose, case = purpose_from(x_purpose), case_from(x_case_no)
    return _read(request, actor, lambda s: service.search_subjects(s, actor, kind=ENTITY, name=name,
                                                                   purpose=purpose, case_number=case))


@router.get("/{kind}/stats")
def stats(request: Request, actor: ActorDep, kind: Kind):
    """Subjects, coverage per attribute, share of each source's records linked, open disagreements."""
    with request.app.state.database.reading() as session:
        return service.registry_stats(session, actor, kind=kind)


@router.get("/reviews")
def reviews(request: Request, actor: ActorDep, kind: Kind = "person",
            status: Literal["pending", "same", "different"] | None = "pending",
            limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[int, Query(ge=0)] = 0):
    """The review queue: pairs the model could not decide and records whose ID looks wrong."""
    with request.app.state.database.reading() as session:
        return service.list_reviews(session, actor, kind=kind, status=status, limit=limit, offset=offset)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    same: bool = Field(description="true: the record is this subject; false: it is not")
    note: str = Field(default="", max_length=2000)


def _review_out(review) -> dict:
    return {"id": review.id, "status": review.status, "reason": review.reason, "note": review.note,
            "decided_by": review.decided_by, "decided_at": review.decided_at.isoformat() if review.decided_at else None}


@router.post("/reviews/{review_id}/decision")
def decide(session: SessionDep, actor: ActorDep, review_id: IdPath, body: DecisionIn):
    """Same or different. Kept, and it outranks the model and the ID in every later build."""
    return _review_out(service.decide_review(session, actor, review_id=review_id, same=body.same, note=body.note))


class RelinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Kind
    resource: str = Field(max_length=64)
    record_key: str = Field(max_length=200)
    key: str = Field(max_length=32, description="The subject's ID number or credit code")
    same: bool = Field(description="true: merge the record into the subject; false: unlink it")
    note: str = Field(default="", max_length=2000)


@router.post("/links")
def relink(session: SessionDep, actor: ActorDep, body: RelinkIn):
    """A steward's merge (link a record to a subject) or unlink, applied from the next build on."""
    return _review_out(service.relink(session, actor, kind=body.kind, resource_code=body.resource,
                                      record_key=body.record_key, key=body.key, same=body.same, note=body.note))


class PrecedenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    departments: list[str] = Field(min_length=1, max_length=50, description="Credit codes, first wins")


@router.put("/precedence/{element}")
def precedence(session: SessionDep, actor: ActorDep, element: str, body: PrecedenceIn):
    """Which departments' values count, in order, where the authoritative source has none."""
    row = service.set_precedence(session, actor, element=element, departments=body.departments)
    return {"element": row.element, "departments": row.departments, "set_by": row.set_by}
