"""datong services items|save-item|cases|show|timers|measures: the one window (一窗受理) for operators.

``save-item`` reads a service item from JSON (the API's body, with a ``flow`` file path for a BPMN
drawn in a modeler); ``timers`` escalates every review past its deadline, as ``datong worker`` does
on every round.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from datong.cli.context import Context
from datong.i18n import N_

app = typer.Typer(no_args_is_help=True, help="The one window: service items, cases, deadlines, measures (一窗受理).")


@app.command("items")
def items(ctx: typer.Context) -> None:
    """Service items and bundles, with their limits and how many materials the hub fetches."""
    from datong.services import service

    context: Context = ctx.obj
    with context.reading() as session:
        for item in service.list_items(session):
            guide = service.guide(item)
            typer.echo(f"{item.code}  {item.name}  {item.department.name}  {item.promised_days}/{item.legal_days} "
                       f"{context.say(N_('working days'))}  {guide['materials_not_needed']}/{len(guide['materials'])} "
                       f"{context.say(N_('materials fetched'))}{'  auto' if item.auto_rules else ''}")
        for bundle in service.list_bundles(session):
            typer.echo(f"{bundle.code}  {bundle.name}  " + " → ".join(e["item"] for e in bundle.items))


@app.command("save-item")
def save_item(ctx: typer.Context, code: str,
              path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The item as JSON")],
              flow: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="A BPMN 2.0 file")] = None) -> None:
    """Define or change a service item from a JSON file (and a BPMN flow drawn in a modeler)."""
    from datong.services import service
    from datong.services.api import ItemIn
    from datong.services.service import ItemSpec

    context: Context = ctx.obj
    body = ItemIn.model_validate({**json.loads(path.read_text(encoding="utf-8")),
                                  **({"flow": flow.read_text(encoding="utf-8")} if flow else {})})
    spec = ItemSpec(code=code, **body.model_dump(exclude={"fields", "materials", "auto_rules", "result"}),
                    fields=[f.model_dump() for f in body.fields],
                    materials=[m.model_dump(exclude_none=True) for m in body.materials],
                    auto_rules=[r.model_dump(exclude_none=True) for r in body.auto_rules],
                    result=body.result.model_dump() if body.result else None)
    with context.unit_of_work() as session:
        item = service.save_item(session, context.actor, spec=spec)
        typer.echo(context.say(N_("Service item {code} saved: {name}"), code=item.code, name=item.name))


@app.command("cases")
def cases(ctx: typer.Context, status: Annotated[str | None, typer.Option(help="Only cases in this state")] = None,
          limit: Annotated[int, typer.Option(min=1, max=1000)] = 50) -> None:
    """The newest cases."""
    from datong.db.paging import Window
    from datong.services import review

    context: Context = ctx.obj
    with context.reading() as session:
        found = review.list_cases(session, context.actor, status=status, page=Window(limit=limit))
        for case in found:
            name = case.item.name if case.item else case.bundle.name
            typer.echo(f"{case.number}  {name}  {case.status}{'/' + case.outcome if case.outcome else ''}  "
                       f"{context.say(N_('due'))} {case.due_on or '-'}")
        typer.echo(context.say(N_("{n} cases"), n=found.shown))


@app.command("show")
def show(ctx: typer.Context, number: str) -> None:
    """One case as JSON: form with sources, materials, reviews and history (the read is audited)."""
    from datong.services import review
    from datong.services.api import case_out

    context: Context = ctx.obj
    with context.reading() as session:
        found = review.read_case(session, context.actor, number=number)
        out = case_out(session, found["case"], found["tasks"], found["children"]) | {"history": found["history"]}
    typer.echo(json.dumps(out, ensure_ascii=False, indent=1, default=str))


@app.command("timers")
def timers(ctx: typer.Context, today: Annotated[str | None, typer.Option(help="YYYY-MM-DD; today by default")] = None) -> None:
    """Escalate every review past its deadline (督办); each is escalated once."""
    from datong.services.review import escalate_overdue

    context: Context = ctx.obj
    count = escalate_overdue(context.database, today=date.fromisoformat(today) if today else None)
    typer.echo(context.say(N_("{n} overdue reviews escalated"), n=count))


@app.command("measures")
def measures(ctx: typer.Context) -> None:
    """Per item and department: cases, on-time share, working days, materials supplied, visits,
    automatic share and rating, as JSON."""
    from datong.services import ratings

    context: Context = ctx.obj
    with context.reading() as session:
        typer.echo(json.dumps(ratings.measures(session, context.actor), ensure_ascii=False, indent=1))
