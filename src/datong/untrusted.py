"""Cheap limits on what crosses the hub's boundary, checked before anything that can crash,
balloon or be fooled sees it.

- JSON nesting: DuckDB's JSON reader overflows its stack (the process dies) on a line nested
  about 100,000 deep, and Python's parser raises RecursionError; records are flat, so a few
  levels are plenty. The check counts brackets, which bytes.count does at memory speed; only a
  line with more brackets than the limit is scanned token by token.
- Spreadsheet formulas: a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return runs as a formula when a person opens a CSV export in a spreadsheet (OWASP, "CSV
  injection"). Exports written for people prefix such a value with an apostrophe; workbooks store
  it as a text cell, which keeps the value exact.
- Zip archives (.xlsx): the inflated size is read from the archive's directory before a byte is
  inflated; :mod:`zipfile` stops at the declared size, so a lying directory cannot go past it.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import BinaryIO

#: Deeper than any record a department sends; shallow enough for every parser we use.
MAX_JSON_DEPTH = 64
_TOKENS = re.compile(rb'\\.|["\[\]{}]')  # one pass, left to right: linear on any input
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def too_deep(text: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether one JSON document nests arrays and objects more than ``limit`` deep."""
    if text.count(b"[") + text.count(b"{") <= limit:
        return False
    depth, in_string = 0, False
    for token in _TOKENS.finditer(text):
        mark = token.group()
        if mark == b'"':
            in_string = not in_string
        elif in_string or len(mark) == 2:  # inside a string, or an escape
            continue
        elif mark in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif mark in (b"]", b"}"):
            depth -= 1
    return False


def first_deep_line(path: Path, limit: int = MAX_JSON_DEPTH) -> int | None:
    """The number of the first line of a JSON Lines file nested deeper than ``limit``."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if too_deep(line, limit):
                return number
    return None


def is_formula(value: str) -> bool:
    """Whether a spreadsheet would run the text as a formula (a plain number is not one)."""
    return value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value)


def neutralise(value: object) -> object:
    """A value for a CSV cell that a person opens in a spreadsheet: a formula becomes text."""
    if isinstance(value, str) and is_formula(value):
        return "'" + value
    return value


def neutralise_sql(expression: str) -> str:
    """The same rule in DuckDB SQL, for CSV files written by COPY."""
    return (f"CASE WHEN regexp_matches({expression}, '^[=+\\-@\\t\\r]') "
            f"AND NOT regexp_matches({expression}, '^[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?$') "
            f"THEN '''' || {expression} ELSE {expression} END")


def csv_for_spreadsheets(header: list, rows: list[list]) -> bytes:
    """CSV that a person opens in a spreadsheet: UTF-8 with a BOM (so Excel reads it as UTF-8), and
    every formula-looking value kept as text."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([neutralise(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def fill_sheet(sheet, header: list, rows: list[list]) -> None:
    """A header in bold and the rows below it, formula-looking values kept as text."""
    from openpyxl.styles import Font

    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    text_cells(sheet)


def text_cells(sheet) -> None:
    """Mark every string cell of an openpyxl sheet as text, so a formula-looking value stays text."""
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"


def inflated_size(path: Path | BinaryIO) -> int:
    """The total size of a zip archive's members once inflated, from its central directory."""
    with zipfile.ZipFile(path) as archive:
        return sum(member.file_size for member in archive.infolist())
