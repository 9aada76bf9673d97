"""The one window's API, for department systems and a future mobile app: items and bundles, the
public service guide, cases (open with prefill, form, attachments, accept or refuse, review,
补正, delivery, rating), the receipt, the flow with its current steps, follow-ups and measures."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from datong.api.deps import ActorDep, IdPath, SessionDep
from datong.db.paging import Window
from datong.errors import InvalidInput
from datong.i18n import N_, Term
from datong.services import bpmn, flows, intake, ratings, receipt, review, service
from datong.services.models import Case, ReviewTask

router = APIRouter(tags=["one window"])


class FieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    element: str | None = Field(default=None, max_length=16, description="Filled from the registry by this element")
    licence: str | None = Field(default=None, max_length=140, description='"licence type code:field"')
    required: bool = True


class MaterialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    source: Literal["licence", "shared", "upload", "result"]
    licence_type: str | None = Field(default=None, max_length=100)
    resource: str | None = Field(default=None, max_length=100)
    item: str | None = Field(default=None, max_length=40, description="The bundle item whose result this is")
    required: bool = True


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    op: str = Field(max_length=20)
    field: str | None = Field(default=None, max_length=100)
    value: str | int | None = None
    item: str | None = Field(default=None, max_length=40)


class ResultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(max_length=100)
    holder: str | None = Field(default=None, max_length=100, description="The form field with the holder's key")
    holder_name: str | None = Field(default=None, max_length=100)
    fields: dict[str, str] = Field(default_factory=dict)


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    department: str = Field(max_length=18)
    kind: str = Field(max_length=32)
    applicant_kind: Literal["person", "entity"]
    legal_days: int = Field(ge=1, le=365)
    promised_days: int = Field(ge=1, le=365)
    fields: list[FieldIn] = Field(min_length=1, max_length=80)
    materials: list[MaterialIn] = Field(default_factory=list, max_length=40)
    flow: str | None = Field(default=None, max_length=bpmn.MAX_FLOW, description="BPMN 2.0 XML")
    legal_basis: str = Field(default="", max_length=2000)
    conditions: str = Field(default="", max_length=2000)
    fee: str = Field(default="不收费", max_length=200)
    windows: list[str] = Field(default_factory=list, max_length=20)
    online: bool = False
    result: ResultIn | None = None
    auto_rules: list[RuleIn] = Field(default_factory=list, max_length=20)
    sample_rate: float = Field(default=0.0, ge=0, le=1)


def item_out(item) -> dict:
    return {**service.guide(item), "result": item.result or None, "auto_rules": item.auto_rules,
            "sample_rate": item.sample_rate}


@router.get("/api/v1/service-items")
def list_items(request: Request, actor: ActorDep):
    with request.app.state.database.reading() as session:
        return [item_out(i) for i in service.list_items(session)]


@router.put("/api/v1/service-items/{code}")
def save_item(session: SessionDep, actor: ActorDep, code: str, body: ItemIn):
    """Define or change a service item (the bureau, or the owning department's administrator)."""
    data = body.model_dump(exclude={"fields", "materials", "auto_rules", "result"})
    spec = service.ItemSpec(code=code, **data, fields=[f.model_dump() for f in body.fields],
                            materials=[m.model_dump(exclude_none=True) for m in body.materials],
                            auto_rules=[r.model_dump(exclude_none=True) for r in body.auto_rules],
                            result=body.result.model_dump() if body.result else None)
    return item_out(service.save_item(session, actor, spec=spec))


@router.get("/api/v1/guide/{code}")
def guide(request: Request, code: str):
    """The service guide (办事指南), public: conditions, limits, fees, windows, and which materials
    the applicant no longer brings because the hub fetches them."""
    with request.app.state.database.reading() as session:
        return service.guide(service.get_item(session, code))


class BundleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    items: list[dict] = Field(min_length=2, max_length=20, description='[{"item": code, "after": [codes]}]')


def bundle_out(session, bundle) -> dict:
    return {"code": bundle.code, "name": bundle.name, "description": bundle.description, "items": bundle.items,
            "fields": service.merged_fields(session, bundle)}


@router.get("/api/v1/bundles")
def list_bundles(request: Request, actor: ActorDep):
    with request.app.state.database.reading() as session:
        return [bundle_out(session, b) for b in service.list_bundles(session)]


@router.put("/api/v1/bundles/{code}")
def save_bundle(session: SessionDep, actor: ActorDep, code: str, body: BundleIn):
    return bundle_out(session, service.save_bundle(session, actor, code=code, name=body.name, items=body.items,
                                                   description=body.description))


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    applicant: str = Field(max_length=32, description="ID number or credit code")
    item: str | None = Field(default=None, max_length=200)
    bundle: str | None = Field(default=None, max_length=200)
    channel: Literal["window", "online", "api"] = "window"
    window: str | None = Field(default=None, max_length=100)
    authorised: bool = Field(default=False, description="The applicant authorised the use of their licences")


class CaseJSON(JSONResponse):
    """A case as the API answers it. Its dict holds only JSON values already (dates as ISO text),
    so it is encoded as it is: FastAPI's encoder would walk every form field and source again,
    which cost more than reading the case; and by orjson, the same JSON in a fraction of the
    standard library's time (a bundle's case is its form, sources and materials five times)."""

    def render(self, content) -> bytes:
        return orjson.dumps(content)


def case_json(body: dict, status_code: int = 200) -> JSONResponse:
    return CaseJSON(body, status_code=status_code)


def case_out(session, case: Case, tasks: list[ReviewTask] | None = None, children: list[Case] | None = None) -> dict:
    out = {"number": case.number, "item": case.item.code if case.item else None,
           "bundle": case.bundle.code if case.bundle else None, "name": case.item.name if case.item else case.bundle.name,
           "applicant": case.applicant_key, "applicant_name": case.applicant_name, "channel": case.channel,
           "status": case.status, "outcome": case.outcome, "form": case.form, "sources": case.sources,
           "materials": case.materials, "accepted_on": _day(case.accepted_on), "due_on": _day(case.due_on),
           "legal_due_on": _day(case.legal_due_on), "paused_days": case.paused_days, "completed_on": _day(case.completed_on),
           "working_days": case.working_days, "automatic": case.automatic, "auto_trace": case.auto_trace,
           "result_licence": case.result_licence, "delivery": case.delivery, "visits": case.visits, "reason": case.reason,
           "track_code": intake.track_code(session, case.number)}
    if tasks is not None:
        out["tasks"] = [task_out(t) for t in tasks]
    if children is not None:
        out["children"] = [case_out(session, c) for c in children]
    return out


def task_out(task: ReviewTask) -> dict:
    return {"id": task.id, "case_id": task.case_id, "step": task.step, "name": task.name,
            "department": task.department.code, "department_name": task.department.name, "status": task.status,
            "sample": task.sample, "opened_on": _day(task.opened_on), "due_on": _day(task.due_on),
            "escalated": task.escalated_at is not None, "decided_by": task.decided_by, "note": task.note}


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _whole(session, actor, number: str) -> dict:
    found = review.read_case(session, actor, number=number)
    out = case_out(session, found["case"], found["tasks"], found["children"])
    return {**out, "history": found["history"], "attachments": found["attachments"]}


@router.post("/api/v1/cases", status_code=201)
def open_case(request: Request, actor: ActorDep, body: CaseIn):
    """Open a case for an applicant: the form arrives filled from the registry and their licences,
    each value with its source; every read is audited with the new case number."""
    return case_json(open_answer(request.app.state.database, actor, body), 201)


# The intake's three calls, as their handlers here and the hot path (datong.services.hot) run them.
def open_answer(database, actor, body: CaseIn) -> dict:
    return flows.open_case(database, actor, **body.model_dump(),
                           answer=lambda session, case: case_out(session, case, [], intake.case_children(session, case)))


def form_answer(session, actor, number: str, body: FormIn) -> dict:
    return case_out(session, intake.update_form(session, actor, number=number, values=body.values))


def accept_answer(session, actor, number: str) -> dict:
    case = intake.accept_case(session, actor, number=number)
    out = case_out(session, case, [], intake.case_children(session, case))
    out["tasks"] = review.task_answers(session, case)
    return out


@router.get("/api/v1/cases")
def list_cases(session: SessionDep, actor: ActorDep, status: Annotated[str | None, Query(max_length=24)] = None,
               q: Annotated[str | None, Query(max_length=100)] = None, limit: Annotated[int, Query(ge=1, le=200)] = 50,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0):
    found = review.list_cases(session, actor, status=status, q=q, page=Window(limit, offset))
    return {**found.counts(), "cases": [summary_out(c) for c in found]}


def summary_out(case: Case) -> dict:
    """A case in a list: where it stands, not what the applicant filled in."""
    return {"number": case.number, "item": case.item.code if case.item else None,
            "bundle": case.bundle.code if case.bundle else None, "name": case.item.name if case.item else case.bundle.name,
            "applicant": case.applicant_key, "applicant_name": case.applicant_name, "status": case.status,
            "outcome": case.outcome, "due_on": _day(case.due_on), "channel": case.channel}


@router.get("/api/v1/cases/{number}")
def read_case(session: SessionDep, actor: ActorDep, number: str):
    return case_json(_whole(session, actor, number))


class FormIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[str, str | int | float | None] = Field(max_length=80)


@router.patch("/api/v1/cases/{number}/form")
def update_form(session: SessionDep, actor: ActorDep, number: str, body: FormIn):
    return case_json(form_answer(session, actor, number, body))


@router.put("/api/v1/cases/{number}/materials/{material}", status_code=201)
async def attach(request: Request, number: str, material: str, actor: ActorDep,
                 x_filename: Annotated[str | None, Header(max_length=200)] = None):
    """Attach a material the applicant brought (the body is the file: PDF, JPEG or PNG, ≤ 10 MB)."""
    from fastapi.concurrency import run_in_threadpool

    declared = request.headers.get("content-length") or "0"
    size = int(declared) if declared.isdigit() else 0
    if size > intake.MAX_ATTACHMENT:
        raise InvalidInput(field="file", reason=Term(N_("a file of at most 10 MB")))
    content = bytearray()
    async for chunk in request.stream():
        content += chunk
        if len(content) > intake.MAX_ATTACHMENT:
            raise InvalidInput(field="file", reason=Term(N_("a file of at most 10 MB")))

    def save() -> dict:
        with request.app.state.database.unit_of_work() as session:
            row = intake.attach(session, actor, number=number, material=material,
                                filename=x_filename or material, content=bytes(content))
            return {"id": row.id, "material": row.material, "size": row.size, "sha256": row.sha256,
                    "media_type": row.media_type}

    return await run_in_threadpool(save)


@router.get("/api/v1/cases/{number}/materials/{attachment_id}")
def attachment(session: SessionDep, actor: ActorDep, number: str, attachment_id: IdPath):
    """A material the applicant brought (as uploaded), for the departments the case concerns."""
    row = review.read_attachment(session, actor, number=number, attachment_id=attachment_id)
    return Response(row.content, media_type=row.media_type,
                    headers={"Content-Disposition": f'inline; filename="attachment-{row.id}"'})


@router.post("/api/v1/cases/{number}/accept")
def accept(session: SessionDep, actor: ActorDep, number: str):
    """受理: the review starts, with its deadlines in working days."""
    return case_json(accept_answer(session, actor, number))


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/api/v1/cases/{number}/refuse")
def refuse(session: SessionDep, actor: ActorDep, number: str, body: ReasonIn):
    return case_json(case_out(session, intake.refuse_case(session, actor, number=number, reason=body.reason)))


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["approve", "reject", "supplement"]
    note: str = Field(default="", max_length=2000)


@router.get("/api/v1/review-tasks")
def my_tasks(session: SessionDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=200)] = 50,
             offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0):
    """The caller's department's open reviews, soonest deadline first."""
    found = review.my_tasks(session, actor, page=Window(limit, offset))
    return {**found.counts(), "tasks": [task_out(t) for t in found]}


@router.post("/api/v1/review-tasks/{task_id}")
def decide(session: SessionDep, actor: ActorDep, task_id: IdPath, body: DecisionIn):
    return task_out(review.decide_task(session, actor, task_id=task_id, outcome=body.outcome, note=body.note))


class SupplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[str, str | int | float | None] = Field(default_factory=dict, max_length=80)
    note: str = Field(default="", max_length=500)


@router.post("/api/v1/cases/{number}/supply")
def supply(session: SessionDep, actor: ActorDep, number: str, body: SupplyIn):
    """补正 supplied: the clock runs again."""
    return case_json(case_out(session, review.supply(session, actor, number=number, values=body.values, note=body.note)))


class DeliverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Literal["window", "post", "online"]


@router.post("/api/v1/cases/{number}/deliver")
def deliver(session: SessionDep, actor: ActorDep, number: str, body: DeliverIn):
    return case_json(case_out(session, review.deliver(session, actor, number=number, method=body.method)))


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: int = Field(ge=1, le=5)
    reasons: list[str] = Field(default_factory=list, max_length=10)
    comment: str = Field(default="", max_length=1000)


@router.post("/api/v1/cases/{number}/rating", status_code=201)
def rate(session: SessionDep, actor: ActorDep, number: str, body: RatingIn):
    row = ratings.rate_case(session, actor, number=number, level=body.level, reasons=body.reasons, comment=body.comment)
    return {"case": number, "level": row.level, "reasons": row.reasons, "follow_up": row.level <= ratings.BAD}


@router.get("/api/v1/cases/{number}/receipt.pdf")
def receipt_pdf(request: Request, session: SessionDep, actor: ActorDep, number: str):
    """The acceptance (or refusal) receipt, with a QR code to follow the case."""
    found = review.read_case(session, actor, number=number)
    body = receipt.pdf(found["case"], found["children"], request.app.state.database.sessions.kw["info"]["public_url"],
                       intake.track_code(session, number))
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{number}.pdf"'})


@router.get("/api/v1/cases/{number}/flow")
def flow(session: SessionDep, actor: ActorDep, number: str):
    """The case's BPMN flow, the steps passed and the steps open now (for drawing it)."""
    found = review.read_case(session, actor, number=number)
    case = found["case"]
    if case.item is None:
        raise InvalidInput(field="number", reason=Term(N_("a bundle has one flow per item: ask for an item's case")))
    return review.flow_state(found)


@router.get("/api/v1/follow-ups")
def follow_ups(session: SessionDep, actor: ActorDep, status: Literal["open", "closed"] | None = "open"):
    return [{"id": f.id, "case_id": f.rating.case_id, "level": f.rating.level, "reasons": f.rating.reasons,
             "comment": f.rating.comment, "due_on": _day(f.due_on), "status": f.status, "finding": f.finding,
             "visit": f.visit, "satisfied": f.satisfied} for f in ratings.list_follow_ups(session, actor, status=status)]


class FollowUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    finding: str = Field(min_length=1, max_length=2000)
    rectification: str = Field(default="", max_length=2000)
    visit: str = Field(min_length=1, max_length=2000)
    satisfied: bool


@router.post("/api/v1/follow-ups/{follow_up_id}")
def close_follow_up(session: SessionDep, actor: ActorDep, follow_up_id: IdPath, body: FollowUpIn):
    row = ratings.close_follow_up(session, actor, follow_up_id=follow_up_id, **body.model_dump())
    return {"id": row.id, "status": row.status, "satisfied": row.satisfied}


@router.get("/api/v1/service-measures")
def measures(session: SessionDep, actor: ActorDep, since: date | None = None, until: date | None = None):
    """Per item, department and window: cases, on-time share, working days, materials supplied,
    visits, automatic share, ratings."""
    return ratings.measures(session, actor, since=since, until=until)


@router.get("/api/v1/track/{number}")
def track(request: Request, number: str, code: Annotated[str, Query(max_length=32)]):
    """Public progress of a case for whoever holds its receipt's code: no personal data."""
    with request.app.state.database.reading() as session:
        return receipt.progress(session, number, code)
