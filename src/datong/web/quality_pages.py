"""Console pages for loading data and for quality: the load page with its progress, a resource's
load history and scores, the quality dashboard and the rectification inbox."""

from __future__ import annotations

import shutil
import threading
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import Response

from datong.catalog.service import get_resource
from datong.errors import DatongError
from datong.i18n import translate
from datong.ingest import service as loads
from datong.ingest.flows import run_load
from datong.ingest.sources import Source
from datong.quality import service as quality
from datong.quality.rules import KIND_LABELS
from datong.security.authz import Actor, Target, is_allowed
from datong.web.pages import ConsoleActor, Csrf, localised, render
from datong.web.render import console_locale

router = APIRouter(include_in_schema=False)
PHASES = ("read", "check", "diff", "write", "done")


def _dimension_names(request: Request) -> dict[str, str]:
    locale = console_locale(request)
    return {k: translate(locale, v) for k, v in quality.DIMENSION_LABELS.items()}


def _jobs(request: Request) -> dict:
    if not hasattr(request.app.state, "load_jobs"):
        request.app.state.load_jobs = {}
    return request.app.state.load_jobs


def _start(request: Request, actor: Actor, code: str, path: Path, mode: str, encoding: str | None,
           sheet: str | None) -> str:
    """Run the load in a thread of its own; the page polls the job for its progress."""
    job_id = uuid.uuid4().hex
    job = {"phase": "read", "done": 0, "total": 0, "load_id": None, "error": None, "finished": False,
           "actor": actor.name}
    _jobs(request)[job_id] = job
    database, locale = request.app.state.database, console_locale(request)

    def work() -> None:
        try:
            source = Source.from_path(path, encoding=encoding, sheet=sheet, label=path.name)
            run_load(database, actor, resource_code=code, source=source, mode=mode,
                     progress=lambda phase, done, total: job.update(phase=phase, done=done, total=total),
                     started=lambda load_id: job.update(load_id=load_id))
        except DatongError as error:
            job["error"] = error.localised(locale)
        except Exception as error:  # noqa: BLE001 - shown to the user; the load records it too
            job["error"] = type(error).__name__
        finally:
            job["finished"] = True
            shutil.rmtree(path.parent, ignore_errors=True)

    threading.Thread(target=work, name=f"load-{job_id[:8]}", daemon=True).start()
    return job_id


def _load_page(request: Request, actor: Actor, code: str, status: int = 200, **context) -> Response:
    with request.app.state.database.unit_of_work() as session:
        resource = get_resource(session, code)
        may_read = is_allowed(actor, "load.read", Target("resource", code, resource.provider_id))
        history = loads.list_loads(session, actor, resource_code=code) if may_read else []
        scores = quality.score_history(session, actor, resource_code=code)
        chart = {"labels": [s.computed_at.strftime("%m-%d %H:%M") for s in scores],
                 "series": [[d, [round(getattr(s, d), 4) for s in scores]] for d in (*quality.DIMENSIONS, "overall")],
                 "names": _dimension_names(request)}
        may_load = is_allowed(actor, "data.load", Target("resource", code, resource.provider_id))
        locale = console_locale(request)
        errors = {load.id: loads.error_text(load, locale) for load in history}
        return render(request, "quality/loads.html", status=status, resource=resource, history=history, errors=errors,
                      scores=scores, chart=chart, may_load=may_load, dimensions=quality.DIMENSION_LABELS, **context)


@router.get("/catalog/r/{code:path}/loads")
def load_page(request: Request, actor: ConsoleActor, code: str):
    return _load_page(request, actor, code)


@router.post("/catalog/r/{code:path}/loads", dependencies=[Csrf])
async def upload(request: Request, actor: ConsoleActor, code: str, file: UploadFile,
                 mode: Annotated[str, Form()] = "full", encoding: Annotated[str, Form()] = "",
                 sheet: Annotated[str, Form()] = ""):
    from datong.ingest.api import TooLarge, refuse_oversize, save_upload

    folder = request.app.state.database.data_dir / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    try:
        refuse_oversize(request)
        path = await save_upload(request, file, folder)
    except TooLarge as error:
        shutil.rmtree(folder, ignore_errors=True)
        return _load_page(request, actor, code, status=413, error=localised(request, error))
    job_id = _start(request, actor, code, path, mode, encoding or None, sheet or None)
    return _load_page(request, actor, code, job_id=job_id, job=_jobs(request)[job_id])


@router.get("/jobs/{job_id}")
def job_status(request: Request, actor: ConsoleActor, job_id: str):
    job = _jobs(request).get(job_id)
    if job is None or job["actor"] != actor.name:
        return Response(status_code=404)
    load = None
    if job["finished"] and job["load_id"]:
        with request.app.state.database.unit_of_work() as session:
            load = loads.get_load(session, actor, job["load_id"])
    return render(request, "quality/_job.html", job_id=job_id, job=job, load=load, phases=PHASES)


@router.get("/loads/{load_id}/rejections.{fmt}")
def rejections(request: Request, actor: ConsoleActor, load_id: int, fmt: str):
    if fmt not in ("csv", "xlsx"):
        return Response(status_code=404)
    with request.app.state.database.unit_of_work() as session:
        rows, _ = loads.problems(session, actor, load_id)
        content = loads.report(rows, fmt, console_locale(request))
    media = "text/csv; charset=utf-8" if fmt == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''load-{load_id}-rejections.{fmt}"})


@router.get("/quality")
def dashboard(request: Request, actor: ConsoleActor):
    with request.app.state.database.unit_of_work() as session:
        departments = quality.department_scores(session, actor)
        chart = {"labels": [d["department"].short_name or d["department"].name for d in departments],
                 "series": [[k, [d[k] for d in departments]] for k in (*quality.DIMENSIONS, "overall")],
                 "names": _dimension_names(request)}
        return render(request, "quality/dashboard.html", departments=departments, chart=chart,
                      dimensions=quality.DIMENSION_LABELS)


def _inbox(request: Request, actor: Actor, status: int = 200, **context) -> Response:
    state = request.query_params.get("state") or None
    with request.app.state.database.unit_of_work() as session:
        issues = quality.list_issues(session, actor, state=state)
        moves = {i.id: [to for (frm, to), action in quality.TRANSITIONS.items()
                        if frm == i.state and is_allowed(actor, action, Target("issue", str(i.id), i.department_id))]
                 for i in issues}
        return render(request, "quality/issues.html", status=status, issues=issues, moves=moves, state=state,
                      states=quality.STATE_LABELS, overdue=quality.overdue, kinds=KIND_LABELS, **context)


@router.get("/quality/issues")
def inbox(request: Request, actor: ConsoleActor):
    return _inbox(request, actor)


@router.post("/quality/issues/{issue_id}", dependencies=[Csrf])
def move_issue(request: Request, actor: ConsoleActor, issue_id: int, state: Annotated[str, Form()],
               note: Annotated[str, Form()] = ""):
    try:
        with request.app.state.database.unit_of_work() as session:
            quality.transition_issue(session, actor, issue_id=issue_id, to=state, note=note)
    except DatongError as error:
        return _inbox(request, actor, status=error.status, error=localised(request, error))
    return _inbox(request, actor, moved=issue_id)
