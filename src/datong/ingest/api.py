"""Loads over HTTP: a department system pushes a file or records; anyone allowed reads the result."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, ValidationError

from datong.api.deps import ActorDep, IdPath, SessionDep, json_body, request_locale
from datong.api.paging import Page, WindowDep, page
from datong.db.paging import Found
from datong.errors import DatongError
from datong.i18n import N_, Message
from datong.ingest import service
from datong.ingest.flows import run_load
from datong.ingest.schemas import LoadOut, ProblemOut, RecordsIn
from datong.ingest.sources import LoadFailed, Source

router = APIRouter(prefix="/api/v1", tags=["ingest"])


class TooLarge(DatongError):
    status = 413
    code = "upload_too_large"
    message = N_("The upload is larger than the limit of {limit} MB; split it, or ask the operator to raise "
                 "DATONG_UPLOAD_LIMIT_MB.")


def upload_limit(request: Request) -> int:
    return request.app.state.settings.upload_limit_mb * 1024 * 1024


def refuse_oversize(request: Request) -> None:
    """Refused on the declared size, before a byte of the body is read."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > upload_limit(request):
        raise TooLarge(limit=request.app.state.settings.upload_limit_mb)


def safe_name(filename: str | None) -> str:
    """A name for the saved upload that is a plain file name of a sane length, whatever the client
    sent (``.``, ``..``, a path, control characters, 300 characters): its suffix decides how it is read."""
    base = re.sub(r"[\x00-\x1f\x7f]", "", (filename or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    suffix = suffix if suffix.isascii() and suffix.isalnum() and len(suffix) <= 16 else ""
    stem = stem.strip(" .")[:60] or "upload"  # 60 characters stay under 255 bytes in UTF-8
    return f"{stem}.{suffix}" if suffix else stem


async def save_upload(request: Request, file: UploadFile, folder: Path) -> Path:
    """Copy the upload to a file of its own, counting bytes (a body without a length is checked too)."""
    target = folder / safe_name(file.filename)
    size, limit = 0, upload_limit(request)
    with target.open("wb") as out:
        while chunk := await file.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise TooLarge(limit=request.app.state.settings.upload_limit_mb)
            out.write(chunk)
    return target


def records_in(document: object) -> RecordsIn:
    try:
        return RecordsIn.model_validate(document)
    except ValidationError as error:  # the same 422 as a body FastAPI validates itself
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in error.errors()]) from None


@router.post("/resources/{code:path}/loads", response_model=LoadOut, status_code=201)
async def create_load(request: Request, code: str, actor: ActorDep):
    """Load data: a multipart upload (``file``, ``mode``, ``encoding``, ``sheet``, ``allow_deletes``)
    or a JSON body ``{"mode": "incremental", "records": [{…}, …]}``. 422 when nothing was loaded,
    e.g. a full load that would delete more of the records than the deployment allows without
    ``allow_deletes=true``."""
    refuse_oversize(request)
    database = request.app.state.database
    folder = Path(tempfile.mkdtemp(prefix="datong-upload-"))
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            body = records_in(await json_body(request))
            source, mode = Source("records", "records", records=body.records), body.mode
            allow_deletes = body.allow_deletes
        else:
            form = await request.form()
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise LoadFailed(source="upload", reason=Message(N_("send the data as the form field 'file'")))
            path = await save_upload(request, upload, folder)
            source = Source.from_path(path, encoding=form.get("encoding") or None, sheet=form.get("sheet") or None,
                                      label=path.name)
            mode = str(form.get("mode") or "full")
            allow_deletes = str(form.get("allow_deletes") or "").lower() in ("1", "true", "yes", "on")
        load = await run_in_threadpool(run_load, database, actor, resource_code=code, source=source, mode=mode,
                                       allow_deletes=allow_deletes)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return LoadOut.of(load)


@router.get("/resources/{code:path}/loads", response_model=Page[LoadOut])
def list_loads(session: SessionDep, actor: ActorDep, request: Request, code: str, at: WindowDep):
    """Newest first."""
    locale = request_locale(request)
    return page(request, service.list_loads(session, actor, resource_code=code, page=at), at,
                lambda load: LoadOut.of(load, service.error_text(load, locale)))


@router.get("/loads/{load_id}", response_model=LoadOut)
def get_load(session: SessionDep, actor: ActorDep, request: Request, load_id: IdPath):
    load = service.get_load(session, actor, load_id)
    return LoadOut.of(load, service.error_text(load, request_locale(request)))


@router.get("/loads/{load_id}/rejections", response_model=Page[ProblemOut])
def rejections(session: SessionDep, actor: ActorDep, request: Request, load_id: IdPath, at: WindowDep,
               format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
               severity: Annotated[str | None, Query(pattern="^(reject|warn)$")] = None,
               part: Annotated[str, Query(pattern="^(problems|rows)$")] = "problems"):
    """The rows a rule refused (and, with ``severity=warn``, flagged): row, column, value, rule,
    reason and the row as it was read, as JSON, CSV (UTF-8 with BOM) or an Excel workbook (a sheet
    of problems and a sheet of the rejected rows as read, to fix and load again). CSV gives the
    problems, or with ``part=rows`` the rejected rows as read. JSON is paged (``limit``,
    ``offset``); the files hold every row."""
    locale = request_locale(request)
    if format == "json":
        found = service.problems(session, actor, load_id, severity=severity or "reject", limit=at.limit,
                                 offset=at.offset)
        return page(request, Found(found.rows, found.total), at, lambda p: ProblemOut(
            row=p.row, column=p.column, value=p.value, rule=p.rule, severity=p.severity,
            reason=service.explain(p, locale), original=found.originals.get(p.row)))
    found = service.problems(session, actor, load_id, severity=severity)
    media = "text/csv; charset=utf-8" if format == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = f"load-{load_id}-{'rows' if part == 'rows' and format == 'csv' else 'rejections'}.{format}"
    return Response(service.report(found, format, locale, part), media_type=media, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{name}"})


class MappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mapping: dict[str, str]


@router.put("/resources/{code:path}/column-mapping", response_model=MappingIn)
def set_mapping(session: SessionDep, actor: ActorDep, code: str, body: MappingIn):
    """Save the resource's column mapping (source header → data item name); ``{}`` clears it."""
    return MappingIn(mapping=service.set_column_mapping(session, actor, resource_code=code, mapping=body.mapping))
