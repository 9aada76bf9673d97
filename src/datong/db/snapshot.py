"""Driver-level reads and writes for the hottest paths (the governed reads of the sharing API, the
intake's small writes).

A governed read by key is a few microseconds of database work, and everything around it used to
cost a hundred times that: an ORM session, a BEGIN and a COMMIT, SQLAlchemy's execution path for
each statement. On SQLite each of those driver calls also lets go of the GIL and must win it back
from the other request threads, so under load the number of calls, not their work, set the rate.

A :class:`Snapshot` is one pooled connection used at the driver level, with no transaction of
its own: each statement is its own consistent snapshot (a WAL read on SQLite, a statement
snapshot on PostgreSQL), so a read that needs several facts to agree asks for them in one
statement. Statements are written with SQLAlchemy Core against the models (so names are quoted
by the dialect) and compiled once per dialect by :class:`Prepared`; values cross at the driver's
types, which :meth:`Snapshot.time`, :func:`json_value` and :func:`iso_time` convert.

A service that takes a snapshot also accepts an ORM session (the console, the CLI and tests open
those): :func:`snapshot_of` wraps the session's own connection, inside its transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import bindparam, column, func, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


class Prepared:
    """A Core statement compiled once per dialect into the driver's own SQL, with named
    parameters (``:name`` for sqlite3, ``%(name)s`` for psycopg), so that a call passes a dict."""

    def __init__(self, statement) -> None:
        self.statement = statement
        self._sql: dict[str, str] = {}

    def sql(self, dialect: Dialect) -> str:
        text = self._sql.get(dialect.name)
        if text is None:
            # sqlite3 takes named parameters as well as qmark; psycopg's pyformat is named already.
            target = sqlite.dialect(paramstyle="named") if dialect.name == "sqlite" else dialect
            text = self._sql[dialect.name] = str(self.statement.compile(dialect=target))
        return text


def among(values_of, name: str) -> dict:
    """``values_of`` among the values of the parameter ``name``, per dialect: a JSON array on
    SQLite, an array on PostgreSQL, so that one statement text serves any number of values (pass
    them with :meth:`Snapshot.values`)."""
    return {"sqlite": values_of.in_(select(column("value")).select_from(func.json_each(bindparam(name)))),
            "postgresql": values_of == func.any(bindparam(name))}


class Snapshot:
    """One read at the driver level; see the module's text. ``info`` is what the hub's sessions
    carry (settings the services read, the audit writer, the resource-view cache).

    A snapshot that ``Database.snapshot()`` opened holds its pooled connection, checked out with
    no ping (``datong.db.engine.pinged``): a statement that finds the connection dropped (the
    database restarted) is run once more on a fresh, pinged connection. Nothing was read on the
    dropped one, so nothing is repeated that the caller could see."""

    __slots__ = ("connection", "database", "dialect", "info", "pooled", "postgres", "session")

    def __init__(self, database, connection, dialect: Dialect, info: dict, session: Session | None = None,
                 pooled=None) -> None:
        self.database, self.connection, self.dialect, self.pooled = database, connection, dialect, pooled
        self.info = dict(info)  # shared values (the view cache) by reference, per-read keys its own
        self.postgres, self.session = dialect.name == "postgresql", session

    def rows(self, prepared: Prepared, params: dict) -> list[tuple]:
        sql = prepared.sql(self.dialect)
        try:
            return self._run(sql, params)
        except self.dialect.loaded_dbapi.Error as exc:
            if self.pooled is None or not self.dialect.is_disconnect(exc, self.connection, None):
                raise self._mapped(sql, params, exc) from exc
        self.database.reconnect(self)
        try:
            return self._run(sql, params)
        except self.dialect.loaded_dbapi.Error as exc:
            raise self._mapped(sql, params, exc) from exc

    def write(self, prepared: Prepared, params: dict | list[dict]) -> list[tuple]:
        """An insert or update at the driver level, in the transaction of the session this snapshot
        wraps (``snapshot_of``): its RETURNING rows, if it has any. ``params`` a list: one
        statement for each (executemany). Values at the driver's types (``datong.db.writes`` converts
        a model's values by their column types)."""
        sql = prepared.sql(self.dialect)
        cursor = self.connection.cursor()
        try:
            if isinstance(params, list):
                cursor.executemany(sql, params)
                return []
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description is not None else []
        except self.dialect.loaded_dbapi.Error as exc:
            raise self._mapped(sql, params, exc) from exc
        finally:
            cursor.close()

    def values(self, values) -> list | str:
        """Values for a parameter that :func:`among` reads."""
        return list(values) if self.postgres else json.dumps(list(values))

    def _run(self, sql: str, params: dict) -> list[tuple]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchall()
        finally:
            cursor.close()

    def _mapped(self, sql: str, params: dict, exc: Exception) -> DBAPIError:
        """As SQLAlchemy's own exception (OperationalError…), which the API maps to 503 and 422."""
        return DBAPIError.instance(sql, params, exc, self.dialect.loaded_dbapi.Error, dialect=self.dialect)

    def time(self, value: datetime):
        """A UTC time as the driver compares it with stored times: SQLAlchemy's text form on SQLite."""
        return value if self.postgres else sqlite_time(value)

    @contextmanager
    def orm(self) -> Iterator[Session]:
        """An ORM session for the rare step that needs the models (a cache being filled): the
        session this snapshot wraps, or a read transaction of its own beside it."""
        if self.session is not None:
            yield self.session
            return
        with self.database.reading() as session:
            yield session


def sqlite_time(value: datetime, iso: str | None = None) -> str:
    """The text SQLAlchemy's SQLite DateTime stores for a UTC time (what the ORM reads back);
    ``iso``, the time's ISO form when already made, is reused when it is in UTC."""
    if iso is not None and iso.endswith("+00:00") and len(iso) == 32:
        return f"{iso[:10]} {iso[11:26]}"
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def json_value(value):
    """A JSON column as the driver returns it: text on SQLite, decoded already by psycopg."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def iso_time(value, timespec: str = "seconds") -> str | None:
    """A stored UTC time as ISO 8601 with its offset, from either driver's form."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec=timespec)


def snapshot_of(session) -> Snapshot:
    """The snapshot a service reads through: itself, or an ORM session's connection."""
    if isinstance(session, Snapshot):
        return session
    connection = session.connection()
    return Snapshot(None, connection.connection.driver_connection, connection.dialect, session.info, session)
