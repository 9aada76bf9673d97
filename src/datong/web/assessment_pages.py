"""Console pages of the departments' assessment (考核): the ranking for a month or quarter with its
chart and trends, a department's drill-down, the bureau's weights and targets, and the reports."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from datong.errors import DatongError
from datong.metrics import assessment, report
from datong.security.authz import Target, is_allowed
from datong.web.pages import ConsoleActor, Csrf, localised, render
from datong.web.render import console_locale

router = APIRouter(include_in_schema=False)


def _period(request: Request) -> assessment.Period:
    try:
        return assessment.period(request.query_params.get("period") or None)
    except DatongError:
        return assessment.period(None)


@router.get("/assessment")
def ranking_page(request: Request, actor: ConsoleActor):
    return _ranking(request, actor)


def _ranking(request: Request, actor, status: int = 200, error: str | None = None):
    at = _period(request)
    with request.app.state.database.reading() as session:
        results = assessment.assess(session, actor, at=at)
        trend = assessment.trend(session, actor, at=at)
        chosen = assessment.settings(session)
    chart = {"labels": [r.name for r in results], "series": [["total", [r.total for r in results]]]}
    lines = {"labels": trend["periods"], "series": [[d["name"], d["totals"]] for d in trend["departments"]]}
    return render(request, "assessment/ranking.html", status=status, error=error, at=at, results=results,
                  indicators=assessment.INDICATORS, chosen=chosen, chart=chart, lines=lines,
                  may_configure=is_allowed(actor, "assessment.configure", Target("assessment_indicator")))


@router.get("/assessment/report.{fmt}")
def report_file(request: Request, actor: ConsoleActor, fmt: str):
    at = _period(request)
    locale = console_locale(request)
    with request.app.state.database.reading() as session:
        results = assessment.assess(session, actor, at=at)
        if fmt == "pdf":
            content, media = report.pdf(at, results, locale=locale), "application/pdf"
        else:
            content = report.excel(at, results, assessment.trend(session, actor, at=at), locale=locale)
            media, fmt = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="assessment-{at.key}.{fmt}"'})


@router.post("/assessment/indicators", dependencies=[Csrf])
async def configure(request: Request, actor: ConsoleActor):
    form = await request.form()
    try:
        with request.app.state.database.unit_of_work() as session:
            for indicator in assessment.INDICATORS:
                weight, target = form.get(f"weight_{indicator.key}"), form.get(f"target_{indicator.key}")
                if weight is None or target is None:
                    continue
                assessment.configure(session, actor, key=indicator.key, weight=float(weight), target=float(target))
    except (DatongError, ValueError) as error:
        message = localised(request, error) if isinstance(error, DatongError) else str(error)
        return _ranking(request, actor, status=422, error=message)
    return RedirectResponse(f"/assessment?period={_period(request).key}", status_code=303)


@router.get("/assessment/{code}")
def department_page(request: Request, actor: ConsoleActor, code: str):
    at = _period(request)
    try:
        with request.app.state.database.reading() as session:
            detail = assessment.drill_down(session, actor, department=code, at=at)
            result = next((r for r in assessment.assess(session, actor, at=at) if r.code == code), None)
    except DatongError as error:
        return render(request, "assessment/department.html", status=error.status, error=localised(request, error),
                      detail=None, at=at)
    return render(request, "assessment/department.html", detail=detail, result=result, at=at,
                  indicators=assessment.INDICATORS)
