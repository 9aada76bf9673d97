"""What every command shares: settings, the database and the language, built on first use."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

import typer
from sqlalchemy.orm import Session

from datong.db import Database
from datong.errors import DatongError
from datong.i18n import normalise, translate
from datong.security.authz import Actor
from datong.settings import Settings, load_settings


@dataclass
class Context:
    lang: str | None = None
    _database: Database | None = field(default=None, repr=False)

    @cached_property
    def settings(self) -> Settings:
        return load_settings()

    @property
    def locale(self) -> str:
        return normalise(self.lang) or normalise(self.settings.default_locale) or "zh-CN"

    @property
    def database(self) -> Database:
        if self._database is None:
            self._database = Database.from_settings(self.settings)
        return self._database

    @property
    def actor(self) -> Actor:
        """The local operator: whoever can run this command already holds the database."""
        return Actor.system(f"cli/{getpass.getuser()}")

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction; a refusal or bad input becomes one line on stderr and exit code 2."""
        with self._said(self.database.unit_of_work()) as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """One read-only transaction (it never waits for a writer); errors as in unit_of_work."""
        with self._said(self.database.reading()) as session:
            yield session

    @contextmanager
    def _said(self, transaction) -> Iterator[Session]:
        try:
            with transaction as session:
                yield session
        except DatongError as error:
            typer.echo(error.localised(self.locale), err=True)
            raise typer.Exit(2) from error

    def say(self, message: str, **params: object) -> str:
        return translate(self.locale, message, **params)


def fail(error: DatongError, locale: str | None = None) -> None:
    ctx = click_context_obj()
    chosen = locale or (ctx.locale if ctx else "zh-CN")
    typer.echo(error.localised(chosen), err=True)


def click_context_obj() -> Context | None:
    import click

    current = click.get_current_context(silent=True)
    return current.find_object(Context) if current else None


def progress_bar(context: Context, enabled: bool, phases: dict[str, str]):
    """A progress bar on stderr for a long job that reports ``(phase, done, total)``, with the
    phases' names translated; ``(None, None)`` when not wanted (not a terminal, --json)."""
    if not enabled:
        return None, None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,}"),
                   TimeElapsedColumn(), transient=True)
    task = bar.add_task(context.say(next(iter(phases.values()))), total=None)

    def report(phase: str, done: int, total: int) -> None:
        bar.update(task, description=context.say(phases.get(phase, phase)), completed=done, total=total or None)

    return bar, report
