"""datong open publish|withdraw|list|keys|approve|refuse|revoke|check-links: the open-data portal
for operators."""

from __future__ import annotations

from typing import Annotated

import typer

from datong.cli.context import Context
from datong.i18n import N_

app = typer.Typer(no_args_is_help=True, help="The open-data portal: publish datasets, decide API keys, check links.")


@app.command("publish")
def publish(ctx: typer.Context, resource: Annotated[str, typer.Argument(help="The catalog resource's code")],
            statistics: Annotated[bool, typer.Option("--statistics", help="Counts by division and age band, not rows")] = False,
            licence: Annotated[str, typer.Option(help="SPDX licence identifier")] = "CC-BY-4.0",
            contact: Annotated[str, typer.Option(help="The provider's mail address for questions")] = "",
            spatial: Annotated[str, typer.Option(help="The division the data covers (6 digits)")] = "") -> None:
    """Publish a resource's records (refused if an item holds personal data) or its statistics, and build its files."""
    from datong.opendata import files, service

    context: Context = ctx.obj
    with context.unit_of_work() as session:
        dataset = service.publish(session, context.actor, resource_code=resource,
                                  kind="statistics" if statistics else "records", licence=licence,
                                  contact_email=contact, spatial=spatial)
        dataset_id, code = dataset.id, dataset.code
    try:
        built = files.build(context.database, dataset_id)
        typer.echo(context.say(N_("published {code}: {rows} rows in {formats}"), code=code, rows=built.rows,
                               formats=", ".join(built.sizes)))
    except files.NoData:
        typer.echo(context.say(N_("published {code}: its files follow its first load"), code=code))


@app.command("withdraw")
def withdraw(ctx: typer.Context, code: str, reason: Annotated[str, typer.Option(help="Why, for the audit log")]) -> None:
    """Take a dataset off the portal."""
    from datong.opendata import service

    context: Context = ctx.obj
    with context.unit_of_work() as session:
        service.withdraw(session, context.actor, code=code, reason=reason)
    typer.echo(context.say(N_("withdrew {code}"), code=code))


@app.command("list")
def list_datasets(ctx: typer.Context) -> None:
    """The published datasets with their rows, metadata score and use."""
    from datong.db.paging import Window
    from datong.opendata import score, service

    context: Context = ctx.obj
    base = context.settings.resolved_public_url()
    with context.reading() as session:
        found = service.list_datasets(session, page=Window(10_000, 0))
        used = service.usage(session, [d.id for d in found])
        for d in found:
            result, use = score.score(d, base), used.get(d.id, {})
            typer.echo(f"{d.code}  {d.kind}  {d.access}  {d.rows}  {result.total}/{score.MAXIMUM} {result.rating}  "
                       f"{use.get('view', 0)}/{use.get('download', 0)}/{use.get('api', 0)}  {d.title}")


@app.command("keys")
def list_keys(ctx: typer.Context, status: Annotated[str | None, typer.Option(help="pending, approved, refused or revoked")] = None) -> None:
    """API key applications."""
    from datong.db.paging import Window
    from datong.opendata import keys

    context: Context = ctx.obj
    with context.reading() as session:
        for a in keys.list_applications(session, context.actor, status=status, page=Window(10_000, 0)):
            typer.echo(f"{a.id}  {a.status}  {a.applicant} <{a.email}>  {','.join(a.datasets)}  {a.purpose}")


@app.command("approve")
def approve(ctx: typer.Context, application: int,
            per_minute: Annotated[int, typer.Option(help="Calls a minute the key may make")] = 60) -> None:
    """Approve an application and print its key (shown this once)."""
    from datong.opendata import keys

    context: Context = ctx.obj
    with context.unit_of_work() as session:
        _, key = keys.approve(session, context.actor, application_id=application, per_minute=per_minute)
    typer.echo(key)


@app.command("revoke")
def revoke(ctx: typer.Context, application: int, reason: Annotated[str, typer.Option()]) -> None:
    """Revoke an approved key."""
    from datong.opendata import keys

    context: Context = ctx.obj
    with context.unit_of_work() as session:
        keys.revoke(session, context.actor, application_id=application, reason=reason)
    typer.echo(context.say(N_("revoked key {n}"), n=application))


@app.command("check-links")
def check_links(ctx: typer.Context) -> None:
    """Ask every published dataset's page and downloads whether they answer (the metadata score's
    accessibility; ``datong worker`` does this daily)."""
    import httpx2

    from datong.opendata import score

    context: Context = ctx.obj
    with httpx2.Client(timeout=10) as client:
        found = score.check_links(context.database, client, context.settings.resolved_public_url())
    for code, statuses in found.items():
        broken = [url for url, status in statuses.items() if not 200 <= status < 400]
        typer.echo(f"{code}  {len(statuses) - len(broken)}/{len(statuses)}  {' '.join(broken)}")
