"""Columns derived for comparison, because DuckDB's string distances count UTF-8 bytes, not
characters (``levenshtein('张三', '张山')`` is 3): toneless pinyin (homophone typos compare
equal: 王建国/王健国, 李明/黎明; traditional characters read the same as simplified), the
characters of a name as an array (a character-level overlap any SQL engine computes), a birth
date with day and month swapped, company names and addresses without the parts people add or
drop (示范省, 杭州市, 有限责任公司, full-width brackets).

Pinyin comes from ``pypinyin`` in Python, once per distinct name (a few thousand, however many
records), and joins back in SQL; everything else is SQL.
"""

from __future__ import annotations

import duckdb
import polars as pl
from pypinyin import Style, lazy_pinyin

from datong.registry.spec import PERSON

#: Prefixes people write or leave out in front of an address or a company's name.
PLACE_PREFIX = r"^(示范省|[\p{Han}]{2,3}(省|自治区))?([\p{Han}]{2,4}市)?"
COMPANY_SUFFIXES = (("有限责任公司", "有限公司"), ("股份有限公司", "股份公司"))


def pinyin(text: str | None) -> str | None:
    if not text:
        return None
    return "".join(lazy_pinyin(text, style=Style.NORMAL, errors="ignore")).lower() or None


def _pinyin_table(con: duckdb.DuckDBPyConnection, tables: list[str], column: str, into: str) -> None:
    names = set()
    for table in tables:
        names.update(r[0] for r in con.execute(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL").fetchall())
    frame = pl.DataFrame({"text": sorted(names), "py": [pinyin(n) for n in sorted(names)]},
                         schema={"text": pl.String, "py": pl.String})
    con.register("pinyin_frame", frame)
    con.execute(f"CREATE OR REPLACE TABLE {into} AS SELECT * FROM pinyin_frame")
    con.unregister("pinyin_frame")


def _company(expr: str) -> str:
    out = f"regexp_replace(translate({expr}, '（）', '()'), '{PLACE_PREFIX}', '')"
    for long, short in COMPANY_SUFFIXES:
        out = f"replace({out}, '{long}', '{short}')"
    return f"replace(replace({out}, ' ', ''), '　', '')"


def _chars(expr: str) -> str:
    return f"list_distinct(string_split({expr}, ''))"


def derive(con: duckdb.DuckDBPyConnection, kind: str, tables: dict[str, str]) -> None:
    """Give each table (name → id column) the derived comparison columns, as ``<name>_f``."""
    if kind != PERSON:  # names compared as normalised, pinyin included
        for table in tables:
            con.execute(f"CREATE OR REPLACE TABLE {table}_n AS SELECT * REPLACE ({_company('name')} AS name) FROM {table}")
        tables = {f"{table}_n": column for table, column in tables.items()}
    _pinyin_table(con, list(tables), "name", "pinyin_names")
    if kind != PERSON:
        _pinyin_table(con, list(tables), "legal_rep", "pinyin_reps")
    for table, id_column in tables.items():
        out = table.removesuffix("_n") + "_f"
        if kind == PERSON:
            con.execute(f"""CREATE OR REPLACE TABLE {out} AS
                SELECT {id_column} AS unique_id, t.name, p.py AS name_py, {_chars('t.name')} AS name_chars,
                       t.birth, substr(t.birth, 1, 4) AS birth_year,
                       substr(t.birth, 1, 5) || substr(t.birth, 9, 2) || '-' || substr(t.birth, 6, 2) AS birth_swap,
                       t.sex, t.division, regexp_replace(t.address, '{PLACE_PREFIX}', '') AS address,
                       regexp_replace(t.phone, '[^0-9]', '', 'g') AS phone
                FROM {table} t LEFT JOIN pinyin_names p ON p.text = t.name""")
        else:
            con.execute(f"""CREATE OR REPLACE TABLE {out} AS
                SELECT {id_column} AS unique_id, t.name, p.py AS name_py, {_chars('t.name')} AS name_chars,
                       t.legal_rep, r.py AS legal_rep_py, t.founded,
                       substr(t.founded, 1, 5) || substr(t.founded, 9, 2) || '-' || substr(t.founded, 6, 2)
                           AS founded_swap, t.division
                FROM {table} t LEFT JOIN pinyin_names p ON p.text = t.name
                LEFT JOIN pinyin_reps r ON r.text = t.legal_rep""")
