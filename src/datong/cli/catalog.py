"""catalog import, catalog export, catalog template."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from datong.catalog import dcat, service, transfer
from datong.cli.context import Context
from datong.i18n import N_

app = typer.Typer(no_args_is_help=True, help="The resource catalog.")


class ExportFormat(StrEnum):
    XLSX = "xlsx"
    YAML = "yaml"
    JSON = "json"
    DCAT_TTL = "dcat-ttl"
    DCAT_JSONLD = "dcat-jsonld"


@app.command("import")
def import_(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".xlsx, .yaml or .json")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and show what would change; change nothing.")] = False,
) -> None:
    """Import a catalogue; all resources land or none, and every problem is listed. Rows match
    existing resources by code, or by provider and name."""
    context: Context = ctx.obj
    try:
        with context.database.unit_of_work() as session:
            result = transfer.import_catalog(session, context.actor, filename=path.name, content=path.read_bytes(),
                                             dry_run=dry_run)
    except transfer.CatalogRejected as rejected:
        typer.echo(rejected.localised(context.locale), err=True)
        for problem in rejected.problems:
            typer.echo(f"  {problem.where()}: {problem.localise(context.locale)}", err=True)
        raise typer.Exit(2) from rejected
    if dry_run:
        for code in result.created:
            typer.echo(context.say(N_("would create: {name}"), name=result.names[code]))
        for code in result.updated:
            typer.echo(context.say(N_("would change {code} {name}: {fields}"), code=code, name=result.names[code],
                                   fields=", ".join(result.changes.get(code, []))))
        typer.echo(context.say(N_("Dry run, nothing changed: {created} to create, {updated} to update, {unchanged} "
                                  "unchanged."), created=len(result.created), updated=len(result.updated),
                               unchanged=len(result.unchanged)))
        return
    typer.echo(context.say(N_("Imported: {created} created, {updated} updated, {unchanged} unchanged."),
                           created=len(result.created), updated=len(result.updated), unchanged=len(result.unchanged)))


@app.command("export")
def export(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
    format_: Annotated[ExportFormat, typer.Option("--format", help="File format.")] = ExportFormat.XLSX,
    provider: Annotated[str | None, typer.Option(help="Only this department's resources (credit code).")] = None,
) -> None:
    """Export the catalogue."""
    context: Context = ctx.obj
    with context.unit_of_work() as session:
        resources, total = service.search_resources(session, provider=provider, limit=100_000)
        if format_ is ExportFormat.XLSX:
            content = transfer.export_workbook(resources)
        elif format_ in (ExportFormat.YAML, ExportFormat.JSON):
            content = transfer.export_structured(resources, format_.value)
        else:
            content = dcat.serialise(resources, "ttl" if format_ is ExportFormat.DCAT_TTL else "jsonld")[0].encode()
    output.write_bytes(content)
    typer.echo(context.say(N_("{n} resources written to {path}."), n=total, path=str(output)))


@app.command("template")
def template(ctx: typer.Context,
             output: Annotated[Path, typer.Option("-o", "--output")] = Path("catalog-template.xlsx")) -> None:
    """Write the empty Excel template departments fill in."""
    output.write_bytes(transfer.template_workbook())
    typer.echo(str(output))


@app.command("map")
def map_columns(
    ctx: typer.Context,
    resource: Annotated[str, typer.Argument(help="The resource code.")],
    pairs: Annotated[list[str], typer.Argument(help="HEADER=数据项 pairs; none clears the mapping.")] = None,
) -> None:
    """Save which file column feeds which data item, for files whose headers differ."""
    from datong.ingest.service import set_column_mapping

    context: Context = ctx.obj
    mapping = dict(pair.split("=", 1) for pair in (pairs or []) if "=" in pair)
    with context.unit_of_work() as session:
        saved = set_column_mapping(session, context.actor, resource_code=resource, mapping=mapping)
    for header, item in saved.items():
        typer.echo(f"{header} → {item}")
