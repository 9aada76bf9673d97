"""datong registry build|status|review|show: the population and legal-entity registries."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated

import typer

from datong.cli.context import Context, progress_bar
from datong.errors import DatongError
from datong.i18n import N_

app = typer.Typer(no_args_is_help=True, help="The population and legal-entity registries (人口库, 法人库).")
PHASES = {"read": N_("Reading the sources"), "link": N_("Linking by ID"), "model": N_("Linking the rest (model)"),
          "write": N_("Writing the registry"), "load": N_("Loading the golden records")}


class Kind(StrEnum):
    PERSON = "person"
    ENTITY = "entity"
    ALL = "all"


class Engine(StrEnum):
    DUCKDB = "duckdb"
    SPARK = "spark"


def _kinds(kind: Kind) -> list[str]:
    return ["person", "entity"] if kind is Kind.ALL else [kind.value]


@app.command()
def build(
    ctx: typer.Context,
    kind: Annotated[Kind, typer.Option(help="Which registry.")] = Kind.ALL,
    engine: Annotated[Engine | None, typer.Option(help="Where the model runs (DATONG_REGISTRY_ENGINE).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was done as JSON.")] = False,
) -> None:
    """Rebuild the registry from every source: link, choose golden values, load them. Subject ids
    stay as they were; a steward's decisions are kept and applied."""
    from datong.registry.flows import run_build

    context: Context = ctx.obj
    reports = []
    for one in _kinds(kind):
        bar, progress = progress_bar(context, sys.stderr.isatty() and not as_json, PHASES)
        try:
            if bar:
                bar.start()
            report = run_build(context.database, context.actor, kind=one, progress=progress or (lambda *_: None),
                               engine=(engine.value if engine else context.database.registry_engine))
        except DatongError as error:
            typer.echo(error.localised(context.locale), err=True)
            raise typer.Exit(2) from error
        finally:
            if bar:
                bar.stop()
        reports.append(report)
        if not as_json:
            typer.echo(context.say(
                N_("{kind}: {subjects} subjects from {records} records ({linked}); {unlinked} left unlinked, {wrong} "
                   "probable wrong IDs, {reviews} new to review, {disagree} values disagree with the authoritative "
                   "source, {changed} golden values changed ({seconds} s)."),
                kind=one, subjects=f"{report.subjects:,}", records=f"{report.records:,}",
                linked=", ".join(f"{m} {n:,}" for m, n in sorted(report.linked.items())), unlinked=report.unlinked,
                wrong=report.wrong_ids, reviews=report.reviews_added, disagree=report.disagreements,
                changed=report.changed, seconds=report.seconds))
    if as_json:
        typer.echo(json.dumps([r.__dict__ for r in reports], ensure_ascii=False, default=str))


@app.command()
def status(
    ctx: typer.Context,
    kind: Annotated[Kind, typer.Option(help="Which registry.")] = Kind.ALL,
    as_json: Annotated[bool, typer.Option("--json", help="Print the statistics as JSON.")] = False,
) -> None:
    """Subjects, coverage of each attribute, share of each source linked, reviews and disagreements."""
    from datong.registry import service
    from datong.registry.updates import pending_count

    context: Context = ctx.obj
    with context.reading() as session:
        stats = [service.registry_stats(session, context.actor, kind=one) for one in _kinds(kind)]
        pending = pending_count(session)
    if as_json:
        typer.echo(json.dumps({"registries": stats, "pending_updates": pending}, ensure_ascii=False))
        return
    for s in stats:
        typer.echo(context.say(N_("{kind}: {subjects} subjects; {pending} to review, {wrong} probable wrong IDs, "
                                  "{issues} open disagreement issues"), kind=s["kind"], subjects=f"{s['subjects']:,}",
                               pending=s["reviews"]["pending"], wrong=s["wrong_ids"], issues=s["open_disagreements"]))
        for c in s["coverage"]:
            typer.echo(f"  {c['element']} {c['name']:<12} {c['share']:>7.1%}")
        for src in s["sources"]:
            typer.echo(f"  {src['resource']:<14} {src['name']:<16} {src['linked']:>9,}/{src['records']:<9,} "
                       f"{src['share']:.1%}")
    typer.echo(context.say(N_("Loads waiting to be taken in: {n}"), n=pending))


@app.command()
def review(
    ctx: typer.Context,
    kind: Annotated[Kind, typer.Option(help="Which registry.")] = Kind.PERSON,
    decide: Annotated[int | None, typer.Option(help="Decide this review item.")] = None,
    same: Annotated[bool | None, typer.Option("--same/--different", help="With --decide: the decision.")] = None,
    note: Annotated[str, typer.Option(help="With --decide: why.")] = "",
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
) -> None:
    """List what is waiting for a steward, or decide one item (--decide N --same/--different)."""
    from datong.registry import service

    context: Context = ctx.obj
    if decide is not None:
        if same is None:
            typer.echo(context.say(N_("Say --same or --different.")), err=True)
            raise typer.Exit(2)
        with context.unit_of_work() as session:
            item = service.decide_review(session, context.actor, review_id=decide, same=same, note=note)
        typer.echo(context.say(N_("Review {id}: {status}. It applies from the next build."), id=item.id,
                               status=item.status))
        return
    with context.reading() as session:
        found = service.list_reviews(session, context.actor, kind=kind.value if kind is not Kind.ALL else "person",
                                     limit=limit)
    typer.echo(context.say(N_("{total} waiting for review"), total=found["total"]))
    for item in found["items"]:
        typer.echo(f"  #{item['id']:<6} {item['reason']:<9} p={item['probability']:.3f}  {item['resource']} "
                   f"{item['record_key']} → {item['subject']}")
        typer.echo(f"      {json.dumps(item['record_values'], ensure_ascii=False)}")
        typer.echo(f"      {json.dumps(item['subject_values'], ensure_ascii=False)}")


@app.command()
def show(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="A citizen ID number or a unified social credit code.")],
    purpose: Annotated[str, typer.Option(help="Why you read it (audited).")] = "registry maintenance",
) -> None:
    """One subject's golden record, with each attribute's source and the other sources' values."""
    from datong.registry import service

    context: Context = ctx.obj
    with context.reading() as session:
        found = service.read_subject(session, context.actor, kind=service.kind_of(key), key=key, purpose=purpose)
    typer.echo(f"{found['key']}  (subject {found['subject']}, {found['resource']})")
    for item, value in found["attributes"].items():
        typer.echo(f"  {item:<14} {value}")
        for source in found["provenance"].get(item, []):
            mark = "*" if source["golden"] else ("=" if source["agrees"] else "≠")
            when = f"#{source['load']} {source['as_of'][:19]} " if source["load"] else ""
            typer.echo(f"      {mark} {source['value']}  {source['department_name']} {source['resource']} "
                       f"{when}{source['rule'] or ''}")


@app.command()
def precedence(
    ctx: typer.Context,
    element: Annotated[str, typer.Argument(help="A data element used by a registry, e.g. DE0004.")],
    departments: Annotated[list[str], typer.Argument(help="Credit codes of the departments, first wins.")],
) -> None:
    """Set which departments' values count, in order, where the element's authoritative source has
    none (applied from the next build)."""
    from datong.registry import service

    context: Context = ctx.obj
    with context.unit_of_work() as session:
        row = service.set_precedence(session, context.actor, element=element, departments=departments)
    typer.echo(context.say(N_("Precedence for {element}: {departments}. It applies from the next build."),
                           element=row.element, departments=" > ".join(row.departments)))
