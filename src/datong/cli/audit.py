"""audit verify."""

from __future__ import annotations

import typer

from datong.cli.context import Context
from datong.security.audit import verify_audit_chain

app = typer.Typer(no_args_is_help=True, help="The audit chain.")


@app.command("verify")
def verify(ctx: typer.Context) -> None:
    """Check every link of the audit chain; exit 1 naming the first broken event."""
    context: Context = ctx.obj
    with context.reading() as session:
        report = verify_audit_chain(session, context.actor)
    typer.echo(report.describe(), err=not report.intact)
    raise typer.Exit(0 if report.intact else 1)
