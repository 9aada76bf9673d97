"""From ``raw`` to ``staged``: match the columns to the resource's data items, standardise the
values, compute the record key, and find repeated keys; all in DuckDB."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from datong.i18n import N_, Message
from datong.ingest.sources import LoadFailed, Source, normalise_header
from datong.quality.rules import ItemColumn
from datong.warehouse.engine import quote_identifier, sql_string

OP_HEADERS = {"_op", "op", "操作", "操作类型", "operation"}
#: Headers departments commonly use for standard elements, besides the elements' own names.
ALIASES = {"DE0001": ("身份证号", "身份证号码", "身份证", "证件号码"), "DE0010": ("信用代码", "社会信用代码")}
DELETE_WORDS = ("d", "delete", "删除", "del")


@dataclass
class Mapping:
    columns: dict[int, str]  # item index → source header
    op_header: str | None


def known_headers(items: list[ItemColumn], saved: dict[str, str], element_names: dict[int, list[str]]) -> set[str]:
    names = {normalise_header(h) for h in saved} | OP_HEADERS
    for col in items:
        for name in [col.name, *element_names.get(col.index, []), *ALIASES.get(col.element or "", ())]:
            names.add(normalise_header(name))
            if name.endswith("代码") and len(name) > 3:
                names.add(normalise_header(name[:-2]))
    return names


def match_columns(con: duckdb.DuckDBPyConnection, source: Source, items: list[ItemColumn], saved: dict[str, str],
                  element_names: dict[int, list[str]], mode: str) -> Mapping:
    """Headers match a data item by its name, its element's Chinese or English name or
    identifier, or the resource's saved mapping. Unknown and missing columns stop the load."""
    headers = [r[0] for r in con.execute("DESCRIBE raw").fetchall() if r[0] != "__row"]
    by_name: dict[str, int] = {}
    for col in items:
        for name in [col.name, *element_names.get(col.index, []), *ALIASES.get(col.element or "", ())]:
            by_name.setdefault(normalise_header(name), col.index)
            if name.endswith("代码") and len(name) > 3:  # 性别 for 性别代码, 民族 for 民族代码
                by_name.setdefault(normalise_header(name[:-2]), col.index)
    item_index = {col.name: col.index for col in items}
    saved_norm = {normalise_header(h): item_index.get(target) for h, target in saved.items()}
    columns: dict[int, str] = {}
    unknown, op_header = [], None
    for header in headers:
        norm = normalise_header(header)
        index = saved_norm.get(norm) if norm in saved_norm else by_name.get(norm)
        if index is not None and index not in columns:
            columns[index] = header
        elif norm in OP_HEADERS and mode == "incremental":
            op_header = header
        else:
            unknown.append(header)
    missing = [col.name for col in items if col.index not in columns]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(Message(N_("unknown columns {names}"), names="、".join(unknown)))
        if missing:
            parts.append(Message(N_("missing data items {names}"), names="、".join(missing)))
        raise LoadFailed(source=source.label, reason=Message(
            N_("{problems}. Rename the columns to the catalog's data item names, or save a column mapping "
               "on the resource"), problems=_Joined(parts)))
    return Mapping(columns, op_header)


class _Joined:
    def __init__(self, parts: list[Message]) -> None:
        self.parts = parts

    def localise(self, locale: str) -> str:
        return "; ".join(p.localise(locale) for p in self.parts)


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
    """Create ``staged``: standardised item columns, ``__key``, ``__op`` and ``__first``."""
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
    con.execute("DROP TABLE raw")
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
