"""The ``datong`` command. Each command builds what it needs from Settings and calls one service."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from datong.cli.context import Context, fail
from datong.errors import DatongError, database_error

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False,
                  help="Datong (数通): government data sharing and exchange hub.")


@app.callback()
def root(
    ctx: typer.Context,
    lang: Annotated[str | None, typer.Option("--lang", help="Language of messages: zh-CN or en.")] = None,
) -> None:
    ctx.obj = Context(lang=lang)


def _register() -> None:
    from datong.cli import (assess, audit, catalog, codes, identity, ingest, licence, opendata, portal, registry, services, system,
                            worker)

    import datong.registry.updates  # noqa: F401 - loads committed here are queued for the registries
    import datong.licenses.flows  # noqa: F401 - and for the licence types that issue from them
    import datong.portal.proactive  # noqa: F401 - and for the births that proactive services offer to parents
    import datong.opendata.files  # noqa: F401 - and for the open datasets' files

    system.register(app)
    app.add_typer(identity.dept, name="dept")
    app.add_typer(identity.user, name="user")
    app.add_typer(identity.client, name="client")
    app.add_typer(catalog.app, name="catalog")
    app.command("ingest")(ingest.ingest)
    app.command("worker")(worker.worker)
    app.add_typer(ingest.quality_app, name="quality")
    app.add_typer(audit.app, name="audit")
    app.add_typer(codes.app, name="codes")
    app.add_typer(registry.app, name="registry")
    app.add_typer(licence.app, name="licence")
    app.add_typer(services.app, name="services")
    app.add_typer(portal.app, name="portal")
    app.add_typer(opendata.app, name="open")
    app.add_typer(assess.app, name="assess")


_register()


def main() -> None:
    args = sys.argv  # outside the command's context: the language comes from --lang, if given
    lang = args[args.index("--lang") + 1] if "--lang" in args[:-1] else None
    try:
        app()
    except DatongError as error:
        fail(error, lang)
        sys.exit(2)
    except Exception as exc:  # a busy or unreachable database is a sentence and exit 2, not a traceback
        error = database_error(exc)
        if error is None:
            raise
        fail(error, lang)
        sys.exit(2)


__all__ = ["app", "main"]
