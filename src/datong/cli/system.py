"""init, demo, serve."""

from __future__ import annotations

from typing import Annotated

import typer

from datong.cli.context import Context
from datong.bootstrap import initialise
from datong.i18n import N_
from datong.security.authz import Actor


def _init(ctx: Context) -> None:
    done = initialise(ctx.database, ctx.actor)
    before, after = done.revision_before, done.revision
    if before == after:
        typer.echo(ctx.say(N_("Database is up to date at revision {revision}."), revision=after))
    else:
        typer.echo(ctx.say(N_("Database upgraded from {before} to {after}."), before=before or "∅", after=after))
    if done.dictionary_added:
        typer.echo(ctx.say(N_("{n} standard data elements and code lists added."), n=done.dictionary_added))


def _serve(ctx: Context, host: str | None, port: int | None, *, demo: bool = False, workers: int = 1,
           access_log: bool = True) -> None:
    import uvicorn

    from datong.app import create_app

    settings = ctx.settings
    if workers > 1:  # each process builds its own app, database pool and audit writer from DATONG_*
        uvicorn.run("datong.app:create_app", factory=True, workers=workers, host=host or settings.host,
                    port=port or settings.port, log_level="info", access_log=access_log)
        return
    app = create_app(settings, ctx.database)
    if demo:  # HR's receiver and a delivery worker, so that subscriptions can be seen working
        from datong.demo.sharing import install_receiver, start_worker

        install_receiver(app, ctx.database.data_dir)
        start_worker(ctx.database)
    uvicorn.run(app, host=host or settings.host, port=port or settings.port, log_level="info", access_log=access_log)


def register(app: typer.Typer) -> None:
    @app.command()
    def init(ctx: typer.Context) -> None:
        """Create the database, or upgrade it to the newest schema."""
        _init(ctx.obj)

    @app.command()
    def serve(
        ctx: typer.Context,
        host: Annotated[str | None, typer.Option(help="Address to listen on (DATONG_HOST).")] = None,
        port: Annotated[int | None, typer.Option(help="Port (DATONG_PORT).")] = None,
        workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes sharing the port.")] = 1,
        access_log: Annotated[bool, typer.Option("--access-log/--no-access-log",
                                                 help="Log every request (off behind a proxy that logs).")] = True,
    ) -> None:
        """Serve the console and the API (in several processes with --workers)."""
        _serve(ctx.obj, host, port, workers=workers, access_log=access_log)

    @app.command()
    def demo(
        ctx: typer.Context,
        serve_: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the console afterwards.")] = True,
        people: Annotated[int, typer.Option(min=0, help="People to generate and load (0: catalog only).")] = 100_000,
    ) -> None:
        """Build the demo province in the embedded store and serve the console."""
        from datong.demo import DEMO_PASSWORD, build_demo_province

        context: Context = ctx.obj
        _init(context)
        with context.unit_of_work() as session:
            report = build_demo_province(session, context.settings)
        say = context.say
        typer.echo(say(N_("Demo province ready: {d} departments, {u} accounts, {c} API clients created."),
                       d=report.departments_created, u=report.users_created, c=report.clients_created))
        typer.echo(say(N_("Catalog: {r} resources and {s} authoritative-source claims created."),
                       r=report.resources_created, s=report.claims_created))
        if people:
            from datong.demo.data import load_demo_data

            data = load_demo_data(context.database, Actor.system("demo"), people=people,
                                  progress=lambda name, rows: typer.echo(say(N_("Loading {name}: {rows} rows"),
                                                                            name=name, rows=f"{rows:,}")))
            for name, counts in data.loads.items():
                typer.echo(f"  {counts['code']:<12} {name:<12} read {counts['read']:>8,}  rejected "
                           f"{counts['rejected']:>6,}  inserted {counts['inserted']:>8,}")
            from datong.demo.sharing import build_demo_registry, build_demo_sharing


            settings = context.settings
            shared = build_demo_sharing(context.database,
                                        callback_url=f"http://{settings.host}:{settings.port}/demo/receiver")
            if shared.requests:
                typer.echo(say(N_("Sharing: {n} requests (granted, approved, pending, rejected, expired); HR "
                                  "subscribed to deaths, {d} new deaths waiting for delivery to /demo/receiver."),
                               n=shared.requests, d=shared.deaths_loaded))
            for kind, built in build_demo_registry(context.database).items():
                typer.echo(say(N_("Registry {kind}: {subjects} subjects, {linked} records linked by the model, {reviews} "
                                  "to review, {wrong} probable wrong IDs."), kind=kind, subjects=f"{built.subjects:,}",
                               linked=f"{built.linked.get('model', 0):,}", reviews=built.reviews_added,
                               wrong=built.wrong_ids))
            from datong.demo.licences import build_demo_licences

            licences = build_demo_licences(context.database)
            if licences.issued:
                typer.echo(say(N_("Licences: {issued} issued ({types}); {revoked} revoked, {suspended} suspended, "
                                  "{reissued} reissued."), issued=f"{sum(licences.issued.values()):,}",
                               types="、".join(f"{k} {v:,}" for k, v in licences.issued.items()),
                               revoked=licences.revoked, suspended=licences.suspended, reissued=licences.reissued))
            from datong.demo.services import build_demo_services

            window = build_demo_services(context.database)
            if window.items:
                typer.echo(say(N_("One window: {items} service items, {bundles} bundles, cases: {cases}."),
                               items=window.items, bundles=window.bundles,
                               cases=", ".join(f"{k} {v}" for k, v in sorted(window.cases.items()))))
        if people:
            from datong.demo.opendata import build_demo_open_data

            opened = build_demo_open_data(context.database)
            if opened.published:
                typer.echo(say(N_("Open data: {n} datasets published at /open; records refused for personal data: "
                                  "{refused}."), n=len(opened.published), refused="、".join(opened.refused) or "—"))
        typer.echo(say(N_("Every demo account's password is {password}")
                       , password=DEMO_PASSWORD))
        for username, name, department, roles in report.logins:
            typer.echo(f"  {username:<14} {name:<4} {department:<10} {roles}")
        for key, client in sorted(report.clients.items()):
            typer.echo(f"  client {key:<6} {client['client_id']}  {client['client_secret']}")
        settings = context.settings
        if serve_:
            typer.echo(say(N_("Console: {url}"), url=f"http://{settings.host}:{settings.port}/"))
            _serve(context, None, None, demo=True)
