"""DuckDB connections for bulk work, with datong's macros installed.

Each flow opens its own in-memory connection (spilling to a temp folder under the data
directory), does its work as SQL over Arrow, Parquet and CSV, and closes it. Nothing here
touches the relational store.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from datong.codes import id_number
from datong.codes.vectorised import install_macros, quote_identifier

# Full-width ASCII (U+FF01–U+FF5E) and the ideographic space, as keyed in by Chinese input methods.
FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
HALF_WIDTH = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
FULL_WIDTH_CLASS = f"[{chr(0xFF01)}-{chr(0xFF5E)}{chr(0x3000)}]"
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d", "%Y-%m-%d %H:%M:%S")


def sql_string(text: str) -> str:
    """A SQL string literal (values that are part of a rule's definition, never user data)."""
    return "'" + text.replace("'", "''") + "'"


def _standardise_macros() -> str:
    digits = " + ".join(f"TRY_CAST(substr(f, {i + 1}, 1) AS INTEGER) * {w}"
                        for i, w in enumerate(id_number.WEIGHTS))
    parsed = ", ".join(f"try_strptime(v, {sql_string(f)})" for f in DATE_FORMATS)
    return f"""
    -- translate() with a long map costs ~4 µs a value; most values have no full-width character.
    CREATE OR REPLACE TEMP MACRO datong_clean(v) AS NULLIF(trim(CASE
        WHEN regexp_matches(v, {sql_string(FULL_WIDTH_CLASS)})
            THEN translate(v, {sql_string(FULL_WIDTH)}, {sql_string(HALF_WIDTH)})
        ELSE v END), '');
    CREATE OR REPLACE TEMP MACRO datong_id_first17(v) AS substr(v, 1, 6) || '19' || substr(v, 7, 9);
    CREATE OR REPLACE TEMP MACRO datong_id_check(f) AS
        substr({sql_string(id_number.CHECK_CHARACTERS)}, (({digits}) % 11) + 1, 1);
    -- Upper-case the check character and upgrade 15-digit numbers (GB 11643, appendix) to 18.
    CREATE OR REPLACE TEMP MACRO datong_id_standard(v) AS CASE
        WHEN regexp_full_match(v, '[0-9]{{15}}')
            THEN datong_id_first17(v) || datong_id_check(datong_id_first17(v))
        ELSE upper(v) END;
    CREATE OR REPLACE TEMP MACRO datong_date_standard(v) AS
        coalesce(strftime(coalesce({parsed}), '%Y-%m-%d'), v);
    """


#: DuckDB's working memory per connection unless told otherwise; beyond it, it spills to disk.
MEMORY_LIMIT = "3GB"


_UNITS = {"MB": 10**6, "GB": 10**9, "MiB": 2**20, "GiB": 2**30}  # as DuckDB reads them


def memory_bytes(text: str) -> int:
    """Bytes in a memory setting such as ``3GB`` or ``2.5 GiB`` (the units the settings accept)."""
    number, unit = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(MB|GB|MiB|GiB)\s*", text).groups()
    return int(float(number) * _UNITS[unit])


def connect(temp_dir: Path | None = None, *, threads: int | None = None,
            memory: str | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = {sql_string(memory or MEMORY_LIMIT)}")
    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        con.execute(f"SET temp_directory = {sql_string(str(temp_dir))}")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = true")
    install_macros(con)
    con.execute(_standardise_macros())
    return con


def table_from_rows(con: duckdb.DuckDBPyConnection, name: str, schema: dict, rows, *, append: bool = False) -> None:
    """Create table ``name`` from Python rows through Arrow (DuckDB's executemany binds one row at a
    time: 50,000 rows take seconds), or with ``append`` add them to it. ``schema``: column → Polars
    type."""
    import polars as pl

    frame = pl.DataFrame(list(rows), schema=schema, orient="row")
    con.register("datong_rows_frame", frame)
    into = f"INSERT INTO {quote_identifier(name)}" if append else f"CREATE OR REPLACE TABLE {quote_identifier(name)} AS"
    con.execute(f"{into} SELECT * FROM datong_rows_frame")
    con.unregister("datong_rows_frame")


@contextmanager
def session(temp_dir: Path | None = None, *, memory: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(temp_dir, memory=memory)
    try:
        yield con
    finally:
        con.close()


__all__ = ["connect", "session", "quote_identifier", "sql_string", "table_from_rows", "DATE_FORMATS"]
