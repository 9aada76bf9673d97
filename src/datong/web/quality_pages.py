"""Console pages for loading data and for quality: the load page with its progress, a resource's
load history and scores, the quality dashboard and the rectification inbox."""

from __future__ import annotations

import shutil
import threading
import uuid
from urllib.parse import quote
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from datong.api.deps import IdPath
from datong.catalog.service import get_resource
from datong.errors import DatongError
from datong.i18n import translate
from datong.ingest import service as loads
from datong.ingest.flows import run_load
from datong.ingest.sources import Source
from datong.quality import service as quality
from datong.quality.rules import KIND_LABELS
from datong.security.authz import Actor, Target, is_allowed
from datong.web.pages import ConsoleActor, Csrf, listing, localised, render
from datong.web.render import console_locale

router = APIRouter(include_in_schema=False)
PHASES = ("read", "check", "diff", "write", "done")


def _dimension_names(request: Request) -> dict[str, str]:
    locale = console_locale(request)
    return {k: translate(locale, v) for k, v in quality.DIMENSION_LABELS.items()}


def _start(request: Request, actor: Actor, code: str, path: Path, mode: str, encoding: str | None,
           sheet: str | None, allow_deletes: bool = False) -> tuple[int | None, str | None]:
    """Run the load in a thread of its own and return its id once it is recorded (or the reason it
    could not start). Its progress is kept in its ``loads`` row, so any server process can show it."""
    database, locale = request.app.state.database, console_locale(request)
    started, outcome = threading.Event(), {"load_id": None, "error": None}

    def begun(load_id: int) -> None:
        outcome["load_id"] = load_id
        started.set()

    def work() -> None:
        try:
            source = Source.from_path(path, encoding=encoding, sheet=sheet, label=path.name)
            run_load(database, actor, resource_code=code, source=source, mode=mode, started=begun,
                     allow_deletes=allow_deletes)
        except DatongError as error:
            outcome["error"] = outcome["error"] or error.localised(locale)
        except Exception as error:  # noqa: BLE001 - shown to the user; the load records it too
            outcome["error"] = type(error).__name__
        finally:
            started.set()
            shutil.rmtree(path.parent, ignore_errors=True)

    threading.Thread(target=work, name="console-load", daemon=True).start()
    started.wait(timeout=60)
    return outcome["load_id"], None if outcome["load_id"] else (outcome["error"] or "…")


def _job(load) -> dict:
    finished = load.status != "running"
    return {"phase": load.phase or "read", "done": load.progress_done, "total": load.progress_total,
            "finished": finished, "error": None}


def _load_page(request: Request, actor: Actor, code: str, status: int = 200, **context) -> Response:
    with request.app.state.database.reading() as session:
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
                      scores=scores, chart=chart, may_load=may_load, dimensions=quality.DIMENSION_LABELS,
                      delete_percent=round(100 * request.app.state.database.full_load_delete_share), **context)


@router.get("/catalog/r/{code:path}/loads")
def load_page(request: Request, actor: ConsoleActor, code: str, load: int | None = None):
    """The load page; ``load`` names a load whose progress it follows (after an upload)."""
    if load is not None:
        return job_status(request, actor, load, page_code=code)
    return _load_page(request, actor, code)


@router.post("/catalog/r/{code:path}/loads", dependencies=[Csrf])
async def upload(request: Request, actor: ConsoleActor, code: str, file: UploadFile,
                 mode: Annotated[str, Form()] = "full", encoding: Annotated[str, Form()] = "",
                 sheet: Annotated[str, Form()] = "", allow_deletes: Annotated[bool, Form()] = False):
    from datong.ingest.api import TooLarge, refuse_oversize, save_upload

    folder = request.app.state.database.data_dir / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        refuse_oversize(request)
        path = await save_upload(request, file, folder)
    except TooLarge as error:
        shutil.rmtree(folder, ignore_errors=True)
        return _load_page(request, actor, code, status=413, error=localised(request, error))
    load_id, error = await run_in_threadpool(_start, request, actor, code, path, mode, encoding or None,
                                             sheet or None, allow_deletes)
    if load_id is None:
        return _load_page(request, actor, code, job_id=0, job={"finished": True, "error": error})
    # Post/Redirect/Get: reloading the page follows the load instead of uploading the file again.
    return RedirectResponse(f"/catalog/r/{quote(code)}/loads?load={load_id}", status_code=303)


@router.get("/loads/{load_id}/progress")
def job_status(request: Request, actor: ConsoleActor, load_id: IdPath, page_code: str | None = None):
    """A load's phase and counts from its row; the whole load page when ``page_code`` is given."""
    locale = console_locale(request)
    with request.app.state.database.reading() as session:
        load = loads.get_load(session, actor, load_id)
        job = _job(load)
        if load.status == "failed":
            job["error"] = loads.error_text(load, locale)
        committed = load if load.status == "committed" else None
    if page_code is not None:
        return _load_page(request, actor, page_code, job_id=load_id, job=job, load=committed)
    if job["finished"] and request.headers.get("hx-request"):
        # The whole page again, so that the load history shows the load that just ended.
        return Response(status_code=204, headers={
            "HX-Redirect": f"/catalog/r/{quote(load.resource.code)}/loads?load={load_id}"})
    return render(request, "quality/_job.html", job_id=load_id, job=job, load=committed, phases=PHASES)


@router.get("/loads/{load_id}/rejections.{fmt}")
def rejections(request: Request, actor: ConsoleActor, load_id: IdPath, fmt: str, part: str = "problems"):
    if fmt not in ("csv", "xlsx") or part not in ("problems", "rows"):
        return Response(status_code=404)
    with request.app.state.database.reading() as session:
        content = loads.report(loads.problems(session, actor, load_id), fmt, console_locale(request), part)
    media = "text/csv; charset=utf-8" if fmt == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''load-{load_id}-rejections.{fmt}"})


@router.get("/quality")
def dashboard(request: Request, actor: ConsoleActor):
    with request.app.state.database.reading() as session:
        departments = quality.department_scores(session, actor)
        chart = {"labels": [d["department"].short_name or d["department"].name for d in departments],
                 "series": [[k, [d[k] for d in departments]] for k in (*quality.DIMENSIONS, "overall")],
                 "names": _dimension_names(request)}
        return render(request, "quality/dashboard.html", departments=departments, chart=chart,
                      dimensions=quality.DIMENSION_LABELS)


def _inbox(request: Request, actor: Actor, status: int = 200, **context) -> Response:
    state = request.query_params.get("state") or None
    q, at = listing(request)
    with request.app.state.database.reading() as session:
        issues = quality.list_issues(session, actor, state=state, q=q, page=at)
        moves = {i.id: [to for (frm, to), action in quality.TRANSITIONS.items()
                        if frm == i.state and is_allowed(actor, action, Target("issue", str(i.id), i.department_id))]
                 for i in issues}
        samples = quality.shown_samples(session, actor, issues)
        return render(request, "quality/issues.html", status=status, issues=issues, moves=moves, state=state,
                      samples=samples, q=q, at=at,
                      states=quality.STATE_LABELS, overdue=quality.overdue, kinds=KIND_LABELS, **context)


@router.get("/quality/issues")
def inbox(request: Request, actor: ConsoleActor):
    return _inbox(request, actor)


@router.post("/quality/issues/{issue_id}", dependencies=[Csrf])
def move_issue(request: Request, actor: ConsoleActor, issue_id: IdPath, state: Annotated[str, Form()],
               note: Annotated[str, Form()] = ""):
    try:
        with request.app.state.database.unit_of_work() as session:
            quality.transition_issue(session, actor, issue_id=issue_id, to=state, note=note)
    except DatongError as error:
        return _inbox(request, actor, status=error.status, error=localised(request, error))
    return _inbox(request, actor, moved=issue_id)
