"""datong assess show|trend|report|set: the departments' assessment (考核) for operators."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datong.cli.context import Context
from datong.i18n import N_

app = typer.Typer(no_args_is_help=True, help="The departments' assessment: ranking, trends, reports, weights.")
PeriodOption = Annotated[str | None, typer.Option(help="2026-11 or 2026-Q4 (default: the last month)")]


@app.command("show")
def show(ctx: typer.Context, period: PeriodOption = None) -> None:
    """The ranking for a period: each department's total and each indicator's points."""
    from datong.metrics import assessment

    context: Context = ctx.obj
    with context.reading() as session:
        at = assessment.period(period)
        results = assessment.assess(session, context.actor, at=at)
    typer.echo(context.say(N_("Assessment {period}"), period=at.key))
    keys = [i.key for i in assessment.INDICATORS]
    typer.echo("rank  total  department  " + "  ".join(keys))
    for r in results:
        typer.echo(f"{r.rank:>4}  {r.total:>5}  {r.name}  " + "  ".join(str(r.points.get(k, "—")) for k in keys))


@app.command("report")
def make_report(ctx: typer.Context, out: Annotated[Path, typer.Argument(help="A .xlsx or .pdf file to write")],
                period: PeriodOption = None) -> None:
    """Write the period's report as Excel (ranking, values, trends, charts) or PDF."""
    from datong.metrics import assessment, report

    context: Context = ctx.obj
    with context.reading() as session:
        at = assessment.period(period)
        results = assessment.assess(session, context.actor, at=at)
        if out.suffix.lower() == ".pdf":
            content = report.pdf(at, results, locale=context.locale)
        else:
            content = report.excel(at, results, assessment.trend(session, context.actor, at=at), locale=context.locale)
    out.write_bytes(content)
    typer.echo(context.say(N_("wrote {path}"), path=str(out)))


@app.command("set")
def configure(ctx: typer.Context, key: str, weight: Annotated[float, typer.Option()],
              target: Annotated[float, typer.Option()]) -> None:
    """Set an indicator's weight and target."""
    from datong.metrics import assessment

    context: Context = ctx.obj
    with context.unit_of_work() as session:
        assessment.configure(session, context.actor, key=key, weight=weight, target=target)
    typer.echo(context.say(N_("{key}: weight {weight}, target {target}"), key=key, weight=weight, target=target))
