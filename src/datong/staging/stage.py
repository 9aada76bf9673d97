"""From ``raw`` (columns already matched to data items) to ``staged``: standardise the values,
compute the record key, and find repeated keys; all in DuckDB."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from datong.staging.columns import ItemColumn
from datong.warehouse.engine import quote_identifier, sql_string

DELETE_WORDS = ("d", "delete", "删除", "del")


@dataclass
class Mapping:
    columns: dict[int, str]  # item index → source header
    op_header: str | None


def _standardise(col: ItemColumn, source_column: str) -> str:
    v = f"datong_clean(CAST({quote_identifier(source_column)} AS VARCHAR))"
    if col.rule == "id_number":
        return f"datong_id_standard({v})"
    if col.rule == "credit_code":
        return f"upper({v})"
    if col.data_type == "date" or col.rule == "date":
        return f"datong_date_standard({v})"
    return v


def code_aliases(labels: dict[str, str]) -> dict[str, str]:
    """Labels people write for codes: 男性 and 男 for 1, 女性 and 女 for 2, and so on."""
    aliases = {}
    for label, value in labels.items():
        aliases[label] = value
        for suffix in ("性", "族"):
            if label.endswith(suffix) and len(label) > 1 and label[:-1] not in labels:
                aliases.setdefault(label[:-1], value)
    return aliases


def stage(con: duckdb.DuckDBPyConnection, items: list[ItemColumn], mapping: Mapping,
          labels: dict[int, dict[str, str]]) -> None:
    """Create ``staged``: standardised item columns, ``__key``, ``__op`` and ``__first``. The rows
    as read stay in ``original`` until :func:`keep_originals` keeps those with problems."""
    selects = ["__row"]
    for col in items:
        expr = _standardise(col, mapping.columns[col.index])
        aliases = code_aliases(labels.get(col.index, {}))
        if aliases:
            cases = " ".join(f"WHEN {sql_string(a)} THEN {sql_string(v)}" for a, v in aliases.items())
            expr = f"(CASE {expr} {cases} ELSE {expr} END)"
        selects.append(f"{expr} AS {col.ref}")
    if mapping.op_header:
        words = ", ".join(sql_string(w) for w in DELETE_WORDS)
        selects.append(f"CASE WHEN lower(trim({quote_identifier(mapping.op_header)})) IN ({words}) "
                       f"THEN 'D' ELSE 'U' END AS __op")
    else:
        selects.append("'U' AS __op")
    con.execute(f"CREATE TABLE standard AS SELECT {', '.join(selects)} FROM raw")
    con.execute("ALTER TABLE raw RENAME TO original")  # rows as read: see keep_originals
    keys = [c for c in items if c.key_kind]
    if len(keys) == 1:
        key = keys[0].ref
    else:  # a record named by several keys (both spouses, owner person or company)
        parts = ", ".join(f"coalesce({c.ref}, '')" for c in keys)
        nulls = " AND ".join(f"{c.ref} IS NULL" for c in keys)
        key = f"CASE WHEN {nulls} THEN NULL ELSE concat_ws('|', {parts}) END"
    con.execute(f"""
        CREATE TABLE staged AS
        SELECT *, CASE WHEN __key IS NULL OR __seen = 1 THEN NULL ELSE first_row END AS __first FROM (
            SELECT *, row_number() OVER w AS __seen, first_value(__row) OVER w AS first_row FROM (
                SELECT *, {key} AS __key FROM standard)
            WINDOW w AS (PARTITION BY __key ORDER BY __row))""")
    con.execute("ALTER TABLE staged DROP COLUMN __seen")
    con.execute("ALTER TABLE staged DROP COLUMN first_row")
    con.execute("DROP TABLE standard")


def keep_originals(con: duckdb.DuckDBPyConnection) -> None:
    """Keep the rows that have problems as they were read, every source column as given, in
    ``originals`` (``__row``, ``original`` as a JSON object), and let go of the rest."""
    columns = [r[0] for r in con.execute("DESCRIBE original").fetchall() if r[0] != "__row"]
    pairs = ", ".join(f"{sql_string(c)}, {quote_identifier(c)}" for c in columns)
    con.execute(f"""CREATE TABLE originals AS SELECT __row, json_object({pairs})::VARCHAR AS original
                    FROM original SEMI JOIN (SELECT DISTINCT __row FROM problems) USING (__row)""")
    con.execute("DROP TABLE original")
