"""Writing a load's changes into the relational store, inside the caller's transaction.

The changes come out of DuckDB in batches of tuples and go to the database driver's
``executemany`` (SQLite) or ``COPY`` (PostgreSQL) on the unit of work's own connection, so
the rows, the load record and its audit event commit together or not at all. The ORM would
build an object per row; at millions of rows that is most of the time, so this module speaks
to the driver directly with fixed, quoted table and column names.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from sqlalchemy.orm import Session

from datong.db.base import UTCDateTime, utcnow
from datong.warehouse.engine import sql_string

BATCH = 50_000
#: SQLite's page cache while a connection writes millions of rows (``Bulk.large_cache``).
LARGE_CACHE_MIB = 256
Progress = Callable[[str, int, int], None]


def _batches(con: duckdb.DuckDBPyConnection, sql: str) -> Iterator[list[tuple]]:
    cursor = con.execute(sql)
    while rows := cursor.fetchmany(BATCH):
        yield rows


class Bulk:
    """Rows straight to the database driver, on the unit of work's own connection."""

    def __init__(self, session: Session) -> None:
        connection = session.connection()
        self.dialect = connection.dialect
        self.driver = connection.connection.driver_connection
        self.cursor = self.driver.cursor()
        self.mark = "?" if self.dialect.paramstyle == "qmark" else "%s"
        self.postgres = self.dialect.name == "postgresql"
        self.quote = self.dialect.identifier_preparer.quote
        self.data_dir = session.info.get("data_dir", ".")
        now = utcnow()
        if self.postgres:
            self.now, self.now_text = now, now.isoformat()  # COPY reads timestamptz from text
        else:  # the text SQLAlchemy's SQLite DateTime stores, so the ORM reads these rows back
            self.now = self.now_text = UTCDateTime().impl.dialect_impl(self.dialect).bind_processor(self.dialect)(now)

    @contextmanager
    def large_cache(self) -> Iterator[None]:
        """A bigger page cache for this connection while it writes millions of rows: index pages
        then stay in memory between inserts. The pooled connection goes back with SQLite's
        default cache."""
        if self.postgres:
            yield
            return
        self.cursor.execute(f"PRAGMA cache_size = -{LARGE_CACHE_MIB * 1024}")
        try:
            yield
        finally:
            self.cursor.execute("PRAGMA cache_size = -2000")

    @contextmanager
    def indexes_rebuilt(self, session: Session, tables: list) -> Iterator[None]:
        """On SQLite, the tables' secondary indexes are dropped while millions of rows are
        deleted and written, and built again afterwards from the sorted rows: inserting into an
        index in an order other than its own costs several times more than building it once.
        It all happens in the caller's transaction: readers keep seeing the old rows and indexes
        until it commits (WAL), and a failure rolls the drop back with the rest. PostgreSQL keeps
        its indexes (dropping one would lock readers out until the commit; COPY is fast there)."""
        if self.postgres:
            yield
            return
        connection = session.connection()
        indexes = [index for table in tables for index in sorted(table.indexes, key=lambda i: i.name)]
        for index in indexes:
            index.drop(connection)
        yield
        for index in indexes:
            index.create(connection)

    def time_text(self, value) -> str:
        """A timestamp in the form the column stores, for rows that come out of DuckDB as text."""
        if self.postgres:
            return value.isoformat()
        return UTCDateTime().impl.dialect_impl(self.dialect).bind_processor(self.dialect)(value)

    def _sql(self, text: str) -> str:
        return text.replace("?", self.mark)

    def _many(self, sql: str, rows: list[tuple]) -> None:
        if rows:
            self.cursor.executemany(self._sql(sql), rows)

    def copy(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """Insert rows: COPY on PostgreSQL, executemany on SQLite. Values must already be in the
        form the column stores (text for JSON and timestamps, see ``now_text``)."""
        names = ", ".join(self.quote(c) for c in columns)
        if self.postgres:
            with self.cursor.copy(f"COPY {self.quote(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            self._many(f"INSERT INTO {self.quote(table)} ({names}) VALUES ({marks})", rows)



    def copy_query(self, con: duckdb.DuckDBPyConnection, sql: str, table: str, columns: tuple[str, ...],
                   progress: Callable[[int], None] | None = None) -> None:
        """Insert the rows of a DuckDB query. On PostgreSQL DuckDB writes them as CSV and the file is
        streamed into COPY, so no Python work is done per row; on SQLite they go in batches to
        executemany."""
        if not self.postgres:
            for rows in _batches(con, sql):
                self.copy(table, columns, rows)
                if progress:
                    progress(len(rows))
            return
        folder = Path(self.data_dir) / "work"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"copy-{uuid.uuid4().hex}.csv"
        try:
            written = con.execute(f"COPY ({sql}) TO {sql_string(str(path))} (FORMAT csv, HEADER false)").fetchone()[0]
            names = ", ".join(self.quote(c) for c in columns)
            with self.cursor.copy(f"COPY {self.quote(table)} ({names}) FROM STDIN (FORMAT csv)") as copy, \
                    open(path, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)
            if progress:
                progress(written)
        finally:
            path.unlink(missing_ok=True)


class Writer(Bulk):
    def __init__(self, session: Session, resource_id: int, load_id: int, progress: Progress | None) -> None:
        super().__init__(session)
        self.resource_id, self.load_id = resource_id, load_id
        self.progress = progress or (lambda phase, done, total: None)

    def apply(self, con: duckdb.DuckDBPyConnection, total: int) -> None:
        with self.large_cache():
            self._apply(con, total)

    def _apply(self, con: duckdb.DuckDBPyConnection, total: int) -> None:
        done = 0
        rid = self.resource_id
        for rows in _batches(con, "SELECT __key FROM deletes"):
            keys = [(rid, k) for (k,) in rows]
            self._many("DELETE FROM record_keys WHERE resource_id = ? AND record_key = ?", keys)
            self._many("DELETE FROM records WHERE resource_id = ? AND key = ?", keys)
            done += len(rows)
            self.progress("write", done, total)
        for rows in _batches(con, "SELECT payload, __hash, __version, __key FROM changes WHERE change = 'U'"):
            self._many("UPDATE records SET payload = ?, row_hash = ?, version = ?, load_id = ?, updated_at = ? "
                       "WHERE resource_id = ? AND key = ?",
                       [(p, h, v, self.load_id, self.now, rid, k) for p, h, v, k in rows])
            self._many("DELETE FROM record_keys WHERE resource_id = ? AND record_key = ?", [(rid, r[3]) for r in rows])
            done += len(rows)
            self.progress("write", done, total)
        columns = ("resource_id", "key", "payload", "row_hash", "version", "load_id", "created_at", "updated_at")
        # The tuples come out of DuckDB whole: no Python work per row but the driver's.
        con.execute("CREATE OR REPLACE TEMP TABLE write_now AS SELECT CAST(? AS VARCHAR) AS ts", [self.now_text])
        written = [done]

        def advance(rows: int) -> None:
            written[0] += rows
            self.progress("write", written[0], total)

        # In index order: B-tree inserts then touch neighbouring pages, which stay in the cache.
        self.copy_query(con, f"SELECT {int(rid)}, __key, payload, __hash, __version, {int(self.load_id)}, ts, ts "
                             "FROM changes, write_now WHERE change = 'I' ORDER BY __key", "records", columns, advance)
        self.copy_query(con, f"SELECT kind, value, {int(rid)}, __key, item FROM new_keys "
                             "ORDER BY kind, value, __key, item", "record_keys",
                        ("kind", "value", "resource_id", "record_key", "item"))

    def problems(self, con: duckdb.DuckDBPyConnection, sql: str) -> None:
        columns = ("load_id", "row", "column", "value", "rule", "kind", "reason", "detail", "severity")
        self.copy_query(con, f"SELECT {int(self.load_id)}, * FROM ({sql})", "load_problems", columns)
