"""Matching a file's columns to the resource's data items, before anything is staged."""

from __future__ import annotations

import duckdb

from datong.i18n import N_, Message
from datong.ingest.sources import LoadFailed, Source, normalise_header
from datong.staging.columns import ItemColumn
from datong.staging.stage import Mapping

OP_HEADERS = {"_op", "op", "操作", "操作类型", "operation"}
#: Headers departments commonly use for standard elements, besides the elements' own names.
ALIASES = {"DE0001": ("身份证号", "身份证号码", "身份证", "证件号码"), "DE0010": ("信用代码", "社会信用代码")}

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
    """The columns of the table ``raw`` matched by :func:`match_headers`."""
    headers = [r[0] for r in con.execute("DESCRIBE raw").fetchall() if r[0] != "__row"]
    return match_headers(source, headers, items, saved, element_names, mode)


def match_headers(source: Source, headers: list[str], items: list[ItemColumn], saved: dict[str, str],
                  element_names: dict[int, list[str]], mode: str) -> Mapping:
    """Headers match a data item by its name, its element's Chinese or English name or
    identifier, or the resource's saved mapping. Unknown and missing columns stop the load."""
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
