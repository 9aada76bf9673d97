"""The assessment API: departments ranked for a period, a department's drill-down, trends, the
bureau's weights and targets, reports as Excel and PDF; the province at a glance."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from datong.api.deps import ActorDep, SessionDep
from datong.metrics import assessment, overview, report

router = APIRouter(tags=["assessment"])
PeriodQuery = Annotated[str | None, Query(max_length=7, description="2026-11 or 2026-Q4; the last month if omitted")]


class IndicatorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weight: float = Field(ge=0, le=1000)
    target: float = Field(gt=0, le=1e9)


def result_out(r: assessment.DepartmentResult) -> dict:
    return {"rank": r.rank, "department": r.code, "name": r.name, "total": r.total, "values": r.values,
            "points": r.points}


@router.get("/api/v1/assessment")
def ranking(session: SessionDep, actor: ActorDep, period: PeriodQuery = None):
    at = assessment.period(period)
    chosen = assessment.settings(session)
    return {"period": at.key, "start": at.start.isoformat(), "end": at.end.isoformat(),
            "indicators": [{"key": i.key, "weight": chosen[i.key][0], "target": chosen[i.key][1],
                            "higher_is_better": i.higher_is_better, "unit": i.unit} for i in assessment.INDICATORS],
            "departments": [result_out(r) for r in assessment.assess(session, actor, at=at)]}


@router.get("/api/v1/assessment/trend")
def trend(session: SessionDep, actor: ActorDep, period: PeriodQuery = None,
          periods: Annotated[int, Query(ge=2, le=24)] = 6):
    return assessment.trend(session, actor, at=assessment.period(period), periods=periods)


@router.get("/api/v1/assessment/departments/{code}")
def drill_down(session: SessionDep, actor: ActorDep, code: str, period: PeriodQuery = None):
    return assessment.drill_down(session, actor, department=code, at=assessment.period(period))


@router.put("/api/v1/assessment/indicators/{key}")
def configure(session: SessionDep, actor: ActorDep, key: str, body: IndicatorIn):
    row = assessment.configure(session, actor, key=key, weight=body.weight, target=body.target)
    return {"key": row.key, "weight": row.weight, "target": row.target}


@router.get("/api/v1/assessment/report.{fmt}")
def download_report(session: SessionDep, actor: ActorDep, fmt: Literal["xlsx", "pdf"], period: PeriodQuery = None,
                    lang: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN"):
    at = assessment.period(period)
    results = assessment.assess(session, actor, at=at)
    if fmt == "xlsx":
        content = report.excel(at, results, assessment.trend(session, actor, at=at), locale=lang)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        content, media = report.pdf(at, results, locale=lang), "application/pdf"
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="assessment-{at.key}.{fmt}"'})


@router.get("/api/v1/overview")
def glance(session: SessionDep, actor: ActorDep, days: Annotated[int, Query(ge=1, le=366)] = 30):
    return overview.glance(session, actor, days=days)
