"""datong worker: deliver subscriptions' changes, take committed loads into the registries and the
open datasets' files, escalate one-window reviews past their deadlines, and run the proactive
services and the open-data link check (daily)."""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated

import typer

import datong.licenses.flows
import datong.opendata.files  # noqa: F401 - the open datasets' files, rebuilt after loads
import datong.registry.updates  # noqa: F401 - registers the registries' load consumer
from datong import events
from datong.cli.context import Context
from datong.i18n import N_
from datong.portal import proactive
from datong.portal.senders import sender_from_settings
from datong.services.review import escalate_overdue
from datong.sharing.subscriptions import MAX_ATTEMPTS, deliver_due


def _check_open_links(context: Context) -> None:
    """The open datasets' links, for their metadata score (a server that is down scores 0 there)."""
    import httpx2

    from datong.opendata.score import check_links

    with httpx2.Client(timeout=10) as client:
        check_links(context.database, client, context.settings.resolved_public_url())


def worker(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Deliver what is due, then exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between rounds.")] = 2.0,
    max_attempts: Annotated[int, typer.Option(help="Attempts before a delivery becomes a dead letter.")] = MAX_ATTEMPTS,
) -> None:
    """Deliver subscription changes to the subscribers' callbacks (signed, retried with backoff),
    take committed loads into the registries, and escalate one-window reviews past their deadline."""
    context: Context = ctx.obj
    sender, swept_on = sender_from_settings(context.settings), None
    while True:
        events.dispatch(context.database)  # events not yet consumed, and the registries' queued updates
        counts = deliver_due(context.database, max_attempts=max_attempts)
        escalated = escalate_overdue(context.database)  # one window: reviews past their deadline
        if escalated:
            typer.echo(context.say(N_("{n} overdue reviews escalated"), n=escalated))
        if swept_on != date.today():  # proactive services: the daily rules once a day, texts every round
            swept_on = date.today()
            proactive.sweep(context.database, sender, today=swept_on)
            _check_open_links(context)
        else:
            proactive.text_pending(context.database, sender)
        if once or any(counts.values()):
            typer.echo(context.say(N_("delivered {delivered}, failed {failed}, dead letters {dead}"), **counts))
        if once:
            return
        time.sleep(interval)
