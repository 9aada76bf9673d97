"""datong ingest, datong quality run, datong quality issues."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from datong.cli.context import Context, progress_bar
from datong.errors import DatongError
from datong.i18n import N_
from datong.ingest import service as loads
from datong.ingest.flows import run_load
from datong.store.models import COUNTS
from datong.ingest.sources import Source
from datong.quality import flows as quality_flows
from datong.quality import service as quality

quality_app = typer.Typer(no_args_is_help=True, help="Data quality: rules, scores and issues.")
PHASES = {"read": N_("reading"), "check": N_("checking"), "diff": N_("comparing"), "write": N_("writing"),
          "done": N_("done")}


class Mode(StrEnum):
    FULL = "full"
    INCREMENTAL = "incremental"


def ingest(
    ctx: typer.Context,
    resource: Annotated[str, typer.Argument(help="The resource code.")],
    path: Annotated[Path | None, typer.Argument(exists=True, dir_okay=False,
                                                help="CSV/TSV, .xlsx, JSON Lines or Parquet file.")] = None,
    mode: Annotated[Mode, typer.Option(help="full: the file is the whole dataset; incremental: upserts and "
                                            "deletes (an _op column).")] = Mode.FULL,
    encoding: Annotated[str | None, typer.Option(help="utf-8, gbk or gb18030; detected when not given.")] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet name or number (first by default).")] = None,
    from_sql: Annotated[str | None, typer.Option("--from-sql", help="Pull from a database (SQLAlchemy URL).")] = None,
    query: Annotated[str | None, typer.Option(help="With --from-sql: the SELECT to run.")] = None,
    report: Annotated[Path | None, typer.Option(help="Write the rejected rows to this .xlsx or .csv file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as one JSON object.")] = False,
    allow_deletes: Annotated[bool, typer.Option(
        "--allow-deletes", help="Let a full load delete more records than DATONG_FULL_LOAD_DELETE_SHARE.")] = False,
) -> None:
    """Load data into a resource: all of it or, on a fatal problem, none (exit 2)."""
    context: Context = ctx.obj
    if (path is None) == (from_sql is None) or (from_sql and not query):
        typer.echo(context.say(N_("Give a file, or --from-sql URL with --query SQL.")), err=True)
        raise typer.Exit(2)
    source = (Source.from_sql(from_sql, query) if from_sql
              else Source.from_path(path, encoding=encoding, sheet=sheet))
    bar, progress = progress_bar(context, sys.stderr.isatty() and not as_json, PHASES)
    try:
        if bar:
            with bar:
                load = run_load(context.database, context.actor, resource_code=resource, source=source,
                                mode=mode.value, progress=progress, allow_deletes=allow_deletes)
        else:
            load = run_load(context.database, context.actor, resource_code=resource, source=source, mode=mode.value,
                            allow_deletes=allow_deletes)
    except DatongError as error:
        if as_json:
            typer.echo(json.dumps({"status": "failed", "error": error.localised(context.locale)}, ensure_ascii=False))
        typer.echo(error.localised(context.locale), err=True)
        raise typer.Exit(2) from error
    counts = load.counts()
    if report is not None:
        _write_report(context, load.id, report)
    if as_json:
        typer.echo(json.dumps(counts, ensure_ascii=False))
        return
    typer.echo(context.say(N_("Load #{id} committed in {seconds} s."), id=load.id,
                           seconds=f"{(load.duration_ms or 0) / 1000:.1f}"))
    for name in COUNTS:
        typer.echo(f"  {name:<10} {counts[name]:>12,}")
    if load.rejected and report is None:
        typer.echo(context.say(N_("Rejected rows: datong ingest … --report rejected.xlsx, or GET /api/v1/loads/{id}/"
                                  "rejections"), id=load.id))


def _write_report(context: Context, load_id: int, target: Path) -> None:
    fmt = "csv" if target.suffix.lower() == ".csv" else "xlsx"
    with context.unit_of_work() as session:
        target.write_bytes(loads.report(loads.problems(session, context.actor, load_id), fmt, context.locale))


@quality_app.command("run")
def run(ctx: typer.Context, resource: Annotated[str, typer.Argument(help="The resource code.")]) -> None:
    """Re-check the resource's current data with today's rules; update scores and issues."""
    context: Context = ctx.obj
    try:
        score = quality_flows.run_quality(context.database, context.actor, resource_code=resource)
    except DatongError as error:
        typer.echo(error.localised(context.locale), err=True)
        raise typer.Exit(2) from error
    for name in (*quality.DIMENSIONS, "overall"):
        typer.echo(f"{context.say(quality.DIMENSION_LABELS[name]):<10} {getattr(score, name):.3f}")


@quality_app.command("issues")
def issues(
    ctx: typer.Context,
    dept: Annotated[str | None, typer.Option(help="Only this department (credit code).")] = None,
    state: Annotated[str | None, typer.Option(help="open, rectifying, rechecking, closed or reopened.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List quality issues: the oldest deadline first."""
    context: Context = ctx.obj
    with context.unit_of_work() as session:
        found = quality.list_issues(session, context.actor, department_code=dept, state=state)
        rows = [{"id": i.id, "resource": i.resource.code, "department": i.department.code, "rule": i.rule,
                 "state": i.state, "failing": i.failing, "deadline": i.deadline.isoformat(),
                 "overdue": quality.overdue(i)} for i in found]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        flag = " " + context.say(N_("overdue")) if r["overdue"] else ""
        typer.echo(f"#{r['id']:<5} {r['resource']:<14} {r['rule']:<28} {r['state']:<11} {r['failing']:>8} "
                   f"{r['deadline']}{flag}")
    if not rows:
        typer.echo(context.say(N_("No quality issues.")))

