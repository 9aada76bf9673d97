"""Quality over HTTP: scores, issues and their transitions, declared rules."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from datong.api.deps import ActorDep, IdPath, SessionDep
from datong.api.paging import Page, Search, WindowDep, page
from datong.db.paging import Found
from datong.quality import flows, service
from datong.quality.schemas import (
    DepartmentScoreOut, IssueOut, ResourceQualityOut, RuleIn, ScoreOut, TransitionIn,
)

router = APIRouter(prefix="/api/v1", tags=["quality"])


def issue_out(issue, samples: list[dict]) -> IssueOut:
    return IssueOut(id=issue.id, resource=issue.resource.code, resource_name=issue.resource.name,
                    department=issue.department.code, rule=issue.rule, item=issue.item, kind=issue.kind,
                    severity=issue.severity, state=issue.state, failing=issue.failing, samples=samples,
                    opened_at=issue.opened_at, deadline=issue.deadline, overdue=service.overdue(issue),
                    closed_at=issue.closed_at, history=issue.history)


@router.get("/resources/{code:path}/quality", response_model=ResourceQualityOut)
def resource_quality(session: SessionDep, actor: ActorDep, code: str):
    history = service.score_history(session, actor, resource_code=code)
    return ResourceQualityOut(resource=code, latest=ScoreOut.model_validate(history[-1]) if history else None,
                              history=[ScoreOut.model_validate(s) for s in history],
                              open_issues=service.open_issue_count(session, resource_code=code))


@router.post("/resources/{code:path}/quality/run", response_model=ScoreOut)
async def run_quality(request: Request, actor: ActorDep, code: str):
    score = await run_in_threadpool(flows.run_quality, request.app.state.database, actor, resource_code=code)
    return ScoreOut.model_validate(score)


@router.get("/quality/departments", response_model=Page[DepartmentScoreOut])
def department_scores(request: Request, session: SessionDep, actor: ActorDep, at: WindowDep):
    """Worst first. One row per provider department (few enough to rank in memory)."""
    every = service.department_scores(session, actor)
    found = Found(every[at.offset:at.offset + at.limit], len(every))
    return page(request, found, at, lambda e: DepartmentScoreOut(
        department=e["department"].code, name=e["department"].name,
        **{k: v for k, v in e.items() if k != "department"}))


@router.get("/quality/issues", response_model=Page[IssueOut])
def list_issues(request: Request, session: SessionDep, actor: ActorDep, at: WindowDep, department: str | None = None,
                state: str | None = None, resource: str | None = None, q: Search = None):
    issues = service.list_issues(session, actor, department_code=department, state=state, resource_code=resource,
                                 q=q, page=at)
    samples = service.shown_samples(session, actor, issues)
    return page(request, issues, at, lambda i: issue_out(i, samples[i.id]))


@router.get("/quality/issues/{issue_id}", response_model=IssueOut)
def get_issue(session: SessionDep, actor: ActorDep, issue_id: IdPath):
    issue = service.get_issue(session, actor, issue_id)
    return issue_out(issue, service.shown_samples(session, actor, [issue])[issue.id])


@router.post("/quality/issues/{issue_id}", response_model=IssueOut)
def transition(session: SessionDep, actor: ActorDep, issue_id: IdPath, body: TransitionIn):
    issue = service.transition_issue(session, actor, issue_id=issue_id, to=body.state, note=body.note)
    return issue_out(issue, service.shown_samples(session, actor, [issue])[issue.id])


@router.post("/quality/rules", status_code=201)
def declare_rule(session: SessionDep, actor: ActorDep, body: RuleIn):
    rule = service.declare_rule(session, actor, kind=body.kind, severity=body.severity, params=body.params,
                                element=body.element, resource_code=body.resource, item=body.item)
    return {"id": rule.id, "kind": rule.kind, "severity": rule.severity, "params": rule.params}
