"""Console pages of the one window: intake at the comprehensive window (applicant, item or bundle,
the prefilled form with each value's source, materials, accept or refuse, the receipt), cases and
the department's reviews (decide, 补正, deliver, rate), the case's flow drawn with its current step,
items and bundles with their guides and measures (charts), follow-ups of 差评; and the public
pages a citizen opens: the guide and the progress a receipt's QR code leads to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from datong.api.deps import IdPath
from datong.errors import DatongError, NotFound
from datong.i18n import N_
from datong.security.authz import Target, is_allowed
from datong.services import intake, ratings, receipt, review, service
from datong.services.flows import STATE_LABELS
from datong.web.licence_pages import _visitor_locale
from datong.web.pages import ConsoleActor, Csrf, listing, localised, render

router = APIRouter(include_in_schema=False)
#: Words the templates translate from values (material sources, task states, outcomes, channels).
WORDS = (N_("licence"), N_("shared"), N_("upload"), N_("result"), N_("registry"), N_("applicant"), N_("open"),
         N_("supplement"), N_("approved"), N_("rejected"), N_("cancelled"), N_("window"), N_("online"), N_("api"),
         N_("post"), N_("opened"), N_("accepted"), N_("refused"), N_("form"), N_("attached"), N_("review_started"),
         N_("task_approved"), N_("task_rejected"), N_("supplement_asked"), N_("supplied"), N_("completed"),
         N_("delivered"), N_("rated"), N_("escalated"), N_("auto_approved"), N_("auto_declined"), N_("waiting"),
         N_("sample_checked"), N_("follow_up_closed"), N_("yes"), N_("no"), N_("undecided"))


def _base_url(request: Request) -> str:
    return request.app.state.database.sessions.kw["info"]["public_url"]


@router.get("/window")
def window_page(request: Request, actor: ConsoleActor):
    with request.app.state.database.reading() as session:
        items, bundles = service.list_items(session), service.list_bundles(session)
    return render(request, "services/window.html", items=items, bundles=bundles,
                  may_intake=is_allowed(actor, "case.intake", Target("case", None, actor.department_id)))


@router.post("/window", dependencies=[Csrf])
def open_case(request: Request, actor: ConsoleActor, applicant: Annotated[str, Form(max_length=32)],
              choice: Annotated[str, Form(max_length=220)], authorised: Annotated[bool, Form()] = False,
              window: Annotated[str, Form(max_length=100)] = ""):
    kind, _, code = choice.partition(":")
    try:
        with request.app.state.database.unit_of_work() as session:
            case = intake.open_case(session, actor, applicant=applicant, item=code if kind == "item" else None,
                                    bundle=code if kind == "bundle" else None, authorised=authorised,
                                    window=window or None)
            number = case.number
    except DatongError as error:
        with request.app.state.database.reading() as session:
            items, bundles = service.list_items(session), service.list_bundles(session)
        return render(request, "services/window.html", status=error.status, error=localised(request, error),
                      items=items, bundles=bundles, may_intake=True, applicant=applicant)
    return RedirectResponse(f"/cases/{number}", status_code=303)


@router.get("/cases")
def cases(request: Request, actor: ConsoleActor, status: Annotated[str, Query(max_length=24)] = ""):
    words, page = listing(request)
    with request.app.state.database.reading() as session:
        found = review.list_cases(session, actor, status=status or None, q=words, page=page)
        tasks = review.my_tasks(session, actor) if is_allowed(actor, "case.review", Target(
            "review_task", None, actor.department_id)) else None
    return render(request, "services/cases.html", found=found, tasks=tasks, q=words or "", state=status,
                  states=STATE_LABELS, page=page)


def _case_page(request: Request, actor, number: str, status: int = 200, **context) -> Response:
    try:
        with request.app.state.database.reading() as session:
            found = review.read_case(session, actor, number=number)
            case = found["case"]
            mine = {t.id for t in found["tasks"] if is_allowed(actor, "case.review", Target(
                "review_task", str(t.id), t.department_id))}
            code = intake.track_code(session, number)
    except DatongError as error:
        return render(request, "services/case.html", status=error.status, case=None, error=localised(request, error))
    may_intake = is_allowed(actor, "case.intake", Target("case", number, case.department_id))
    missing = intake.missing(case, found["children"]) if case.status == "draft" else []
    return render(request, "services/case.html", status=status, case=case, children=found["children"],
                  tasks=found["tasks"], history=found["history"], attachments=found["attachments"], mine=mine,
                  may_intake=may_intake, missing=missing, states=STATE_LABELS,
                  track=receipt.track_url(_base_url(request), number, code),
                  levels=ratings.LEVELS, **context)


@router.get("/cases/{number}")
def case_page(request: Request, actor: ConsoleActor, number: str):
    return _case_page(request, actor, number)


def _act(request: Request, actor, number: str, work) -> Response:
    try:
        with request.app.state.database.unit_of_work() as session:
            work(session)
    except DatongError as error:
        return _case_page(request, actor, number, status=error.status, error=localised(request, error))
    return RedirectResponse(f"/cases/{number}", status_code=303)


@router.post("/cases/{number}/form", dependencies=[Csrf])
async def update_form(request: Request, actor: ConsoleActor, number: str):
    form = await request.form()
    values = {k[2:]: str(v) for k, v in form.items() if k.startswith("f:")}
    return _act(request, actor, number, lambda s: intake.update_form(s, actor, number=number, values=values))


@router.post("/cases/{number}/attach", dependencies=[Csrf])
async def attach(request: Request, actor: ConsoleActor, number: str):
    form = await request.form()
    upload, material = form.get("file"), str(form.get("material") or "")
    content = await upload.read(intake.MAX_ATTACHMENT + 1) if upload is not None and not isinstance(upload, str) else b""
    return _act(request, actor, number, lambda s: intake.attach(
        s, actor, number=number, material=material, filename=getattr(upload, "filename", "") or material,
        content=content))


@router.post("/cases/{number}/accept", dependencies=[Csrf])
def accept(request: Request, actor: ConsoleActor, number: str):
    return _act(request, actor, number, lambda s: intake.accept_case(s, actor, number=number))


@router.post("/cases/{number}/refuse", dependencies=[Csrf])
def refuse(request: Request, actor: ConsoleActor, number: str, reason: Annotated[str, Form(max_length=2000)] = ""):
    return _act(request, actor, number, lambda s: intake.refuse_case(s, actor, number=number, reason=reason))


@router.post("/cases/{number}/tasks/{task_id}", dependencies=[Csrf])
def decide(request: Request, actor: ConsoleActor, number: str, task_id: IdPath,
           outcome: Annotated[str, Form(pattern="^(approve|reject|supplement)$")],
           note: Annotated[str, Form(max_length=2000)] = ""):
    return _act(request, actor, number, lambda s: review.decide_task(s, actor, task_id=task_id, outcome=outcome, note=note))


@router.post("/cases/{number}/supply", dependencies=[Csrf])
def supply(request: Request, actor: ConsoleActor, number: str, note: Annotated[str, Form(max_length=500)] = ""):
    return _act(request, actor, number, lambda s: review.supply(s, actor, number=number, note=note))


@router.post("/cases/{number}/deliver", dependencies=[Csrf])
def deliver(request: Request, actor: ConsoleActor, number: str,
            method: Annotated[str, Form(pattern="^(window|post|online)$")]):
    return _act(request, actor, number, lambda s: review.deliver(s, actor, number=number, method=method))


@router.post("/cases/{number}/rating", dependencies=[Csrf])
def rate(request: Request, actor: ConsoleActor, number: str, level: Annotated[int, Form(ge=1, le=5)],
         comment: Annotated[str, Form(max_length=1000)] = ""):
    return _act(request, actor, number, lambda s: ratings.rate_case(s, actor, number=number, level=level,
                                                                     comment=comment))


@router.get("/cases/{number}/receipt.pdf")
def receipt_pdf(request: Request, actor: ConsoleActor, number: str):
    with request.app.state.database.reading() as session:
        found = review.read_case(session, actor, number=number)
        body = receipt.pdf(found["case"], found["children"], _base_url(request), intake.track_code(session, number),
                           request.app.state.settings.pdf_font)
    return Response(body, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{number}.pdf"'})


@router.get("/cases/{number}/attachments/{attachment_id}")
def attachment(request: Request, actor: ConsoleActor, number: str, attachment_id: IdPath):
    with request.app.state.database.reading() as session:
        row = review.read_attachment(session, actor, number=number, attachment_id=attachment_id)
    return Response(row.content, media_type=row.media_type,
                    headers={"Content-Disposition": f'inline; filename="attachment-{row.id}"'})


@router.get("/cases/{number}/flow.json")
def flow(request: Request, actor: ConsoleActor, number: str):
    with request.app.state.database.reading() as session:
        found = review.read_case(session, actor, number=number)
    if found["case"].item is None:
        raise NotFound(what="flow", key=number)
    return JSONResponse(review.flow_state(found))


@router.get("/services")
def services_page(request: Request, actor: ConsoleActor):
    with request.app.state.database.reading() as session:
        items, bundles = service.list_items(session), service.list_bundles(session)
        figures = ratings.measures(session, actor)
        overdue = review.overdue_count(session)
    rows = figures["items"]
    chart = {"labels": [r["name"] for r in rows],
             "series": [["on_time", [r["on_time"] or 0 for r in rows]], ["automatic", [r["automatic"] or 0 for r in rows]]]}
    return render(request, "services/services.html", items=items, bundles=bundles, figures=figures, chart=chart,
                  overdue=overdue, guides={i.code: service.guide(i) for i in items})


def _follow_ups_page(request: Request, actor, state: str, status: int = 200, **context) -> Response:
    with request.app.state.database.reading() as session:
        rows = ratings.list_follow_ups(session, actor, status=state or None)
        numbers = ratings.case_numbers(session, rows)
    return render(request, "services/follow_ups.html", status=status, rows=rows, numbers=numbers, state=state,
                  **context)


@router.get("/follow-ups")
def follow_ups(request: Request, actor: ConsoleActor, status: Annotated[str, Query(pattern="^(open|closed)?$")] = "open"):
    return _follow_ups_page(request, actor, status)


@router.post("/follow-ups/{follow_up_id}", dependencies=[Csrf])
def close_follow_up(request: Request, actor: ConsoleActor, follow_up_id: IdPath,
                    finding: Annotated[str, Form(max_length=2000)] = "", rectification: Annotated[str, Form(max_length=2000)] = "",
                    visit: Annotated[str, Form(max_length=2000)] = "", satisfied: Annotated[bool, Form()] = False):
    try:
        with request.app.state.database.unit_of_work() as session:
            ratings.close_follow_up(session, actor, follow_up_id=follow_up_id, finding=finding,
                                    rectification=rectification, visit=visit, satisfied=satisfied)
    except DatongError as error:
        return _follow_ups_page(request, actor, "open", status=error.status, error=localised(request, error))
    return RedirectResponse("/follow-ups", status_code=303)


@router.get("/guide/{code}")
def guide_page(request: Request, code: str):
    """The public service guide (办事指南), in the visitor's language."""
    try:
        with request.app.state.database.reading() as session:
            guide = service.guide(service.get_item(session, code))
            departments = {key: service.department(session, key).name for key in {s["department"] for s in guide["steps"]}}
    except DatongError as error:
        return render(request, "services/guide.html", status=error.status, guide=None, error=localised(request, error),
                      page_locale=_visitor_locale(request))
    return render(request, "services/guide.html", guide=guide, departments=departments,
                  page_locale=_visitor_locale(request))


@router.get("/track/{number}")
def track_page(request: Request, number: str, code: Annotated[str, Query(max_length=32)] = ""):
    """Where a case stands, for whoever holds its receipt (the QR code): no personal data."""
    try:
        with request.app.state.database.reading() as session:
            progress = receipt.progress(session, number, code)
    except DatongError as error:
        return render(request, "services/track.html", status=error.status, progress=None,
                      error=localised(request, error), page_locale=_visitor_locale(request), states=STATE_LABELS)
    return render(request, "services/track.html", progress=progress, page_locale=_visitor_locale(request), states=STATE_LABELS)
