"""datong portal proactive|flags: the citizen portal for operators. ``proactive`` runs the
proactive-service rules once (``datong worker`` runs them daily) and sends their texts."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from datong.cli.context import Context
from datong.i18n import N_

app = typer.Typer(no_args_is_help=True, help="The citizen portal: proactive services, flagged uses of data.")


@app.command("proactive")
def proactive(ctx: typer.Context, today: Annotated[str | None, typer.Option(help="Run as on this day (YYYY-MM-DD).")] = None) -> None:
    """Run the proactive rules (age-triggered items, expiring licences, annual reports) and send the texts."""
    from datong.portal.proactive import sweep
    from datong.portal.senders import sender_from_settings

    context: Context = ctx.obj
    counts = sweep(context.database, sender_from_settings(context.settings),
                   today=date.fromisoformat(today) if today else None)
    typer.echo(context.say(N_("notices: {age} age-triggered, {expiry} expiring licences, {annual_report} annual "
                              "reports; {texted} texted"), **counts))


@app.command("flags")
def flags(ctx: typer.Context, status: Annotated[str, typer.Option(help="open or closed")] = "open") -> None:
    """Uses of personal data their subjects did not recognise (the auditor's cases)."""
    from datong.portal.service import list_flags

    context: Context = ctx.obj
    with context.reading() as session:
        for row in list_flags(session, context.actor, status=status):
            flag, event = row["flag"], row["event"]
            typer.echo(f"{flag.id}  {flag.status}  #{event.seq} {event.occurred_at:%Y-%m-%d %H:%M}  {event.actor}  "
                       f"{event.action}  {event.purpose or ''}  {flag.reason}")
