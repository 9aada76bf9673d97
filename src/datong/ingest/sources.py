"""Reading a source into DuckDB: every column as text, every row with its number in the source.

Each reader creates the table ``raw`` with a ``__row`` column (the row number a person sees:
the line of a CSV file, the row of a sheet, the line of a JSON Lines file) and one VARCHAR column
per source column. A problem with the source as a whole (bytes that are not text in the
encoding, a broken CSV structure, a sheet that does not exist) raises :class:`LoadFailed`.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import zipfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
from openpyxl import load_workbook
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from datong.errors import DatongError
from datong.i18n import N_, Message
from datong.untrusted import MAX_JSON_DEPTH, first_deep_line, inflated_size
from datong.warehouse.engine import quote_identifier, sql_string

CHUNK = 1 << 20
#: A header line longer than this is not a header (1,024 columns of long names fit easily).
HEADER_BYTES = 1 << 18
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8", "gbk": "gb18030", "gb2312": "gb18030",
             "gb18030": "gb18030", "cp936": "gb18030"}


class LoadFailed(DatongError):
    """Nothing was loaded: the reason concerns the source or the load as a whole."""

    status = 422
    code = "load_failed"
    message = N_("Nothing was loaded from {source}: {reason}")


@dataclass
class Source:
    """Where a load's rows come from."""

    kind: str  # csv, xlsx, jsonl, parquet, sql, records
    label: str
    path: Path | None = None
    encoding: str | None = None  # None: detect
    sheet: str | None = None
    delimiter: str | None = None
    url: str | None = None
    query: str | None = None
    records: list[dict] | None = field(default=None, repr=False)

    @classmethod
    def from_path(cls, path: Path, *, encoding: str | None = None, sheet: str | None = None,
                  label: str | None = None) -> Source:
        suffix = path.suffix.lower()
        kind = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".jsonl": "jsonl",
                ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet"}.get(suffix)
        if kind is None:
            raise LoadFailed(source=label or path.name, reason=Message(
                N_("files ending in {suffix} are not read; use CSV, TSV, Excel (.xlsx), JSON Lines or Parquet"),
                suffix=suffix or "(none)"))
        delimiter = "\t" if suffix == ".tsv" else None
        return cls(kind, label or path.name, path=path, encoding=encoding, sheet=sheet, delimiter=delimiter)

    @classmethod
    def from_sql(cls, url: str, query: str) -> Source:
        return cls("sql", make_url(url).render_as_string(hide_password=True), url=url, query=query)


def _fail(source: Source, text: str, **params: object) -> LoadFailed:
    return LoadFailed(source=source.label, reason=Message(text, **params))


# --- encodings -----------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the start of the file decodes as UTF-8, else GB18030,
    the superset of GBK and GB2312 that Chinese office software writes. A file that runs as UTF-8
    for at least eight non-ASCII characters before its first bad byte is UTF-8 with a bad line,
    which the transcoding then names."""
    with path.open("rb") as handle:
        head = handle.read(CHUNK)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError as error:
        before = head[:error.start].decode("utf-8")
        # GBK text rarely passes as UTF-8 for more than a few characters (the famous 联通 is two).
        return "utf-8" if sum(1 for c in before if ord(c) > 0x7F) >= 8 else "gb18030"


_WIDE = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"), (codecs.BOM_UTF16_LE, "UTF-16"),
         (codecs.BOM_UTF16_BE, "UTF-16"))


def _refuse_wide_encodings(source: Source) -> None:
    """UTF-16 and UTF-32 (what some tools call "Unicode") are named as such, by their byte-order
    mark or by the zero bytes that every ASCII character carries in them."""
    with source.path.open("rb") as handle:
        head = handle.read(4096)
    found = next((name for bom, name in _WIDE if head.startswith(bom)), None)
    even, odd = head[0::2].count(0), head[1::2].count(0)
    # In UTF-16 every ASCII character (digits, commas, line ends) has a zero byte, all on one side.
    if found is None and min(even, odd) == 0 and max(even, odd) >= max(2, len(head) // 64):
        found = "UTF-16"
    if found:
        raise _fail(source, N_("the file is {encoding} text; save it as UTF-8 (or GB18030) and send it again"),
                    encoding=found)


def _line_at(path: Path, offset: int) -> int:
    with path.open("rb") as handle:
        return handle.read(offset).count(b"\n") + 1


def encoding_of(source: Source) -> str:
    """The Python codec for the source: the one given (by any of its common names), or detected."""
    given = (source.encoding or "").lower()
    if given and given not in ENCODINGS:
        raise _fail(source, N_("unknown encoding {encoding}; use utf-8, gbk or gb18030"), encoding=source.encoding)
    return ENCODINGS[given] if given else detect_encoding(source.path)


def to_utf8(source: Source, work: Path, encoding: str) -> tuple[Path, str]:
    """Check every byte decodes in the source's encoding; transcode to UTF-8 when it is not.
    Returns the file to read and the encoding used."""
    path = source.path
    assert path is not None
    target = path if encoding == "utf-8" else work / "source.utf8.csv"
    with ExitStack() as stack:
        handle = stack.enter_context(path.open("rb"))
        out = stack.enter_context(open(target, "w", encoding="utf-8", newline="")) if target != path else None
        _transcode(source, handle, out, encoding)
    return target, ("utf-8-sig" if encoding == "utf-8" and _has_bom(path) else encoding)


def _transcode(source: Source, handle, out, encoding: str) -> None:
    decoder = codecs.getincrementaldecoder(encoding)()
    consumed = 0
    while chunk := handle.read(CHUNK):
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as error:
            line = _line_at(source.path, consumed + max(error.start, 0))
            raise _fail(source, N_("line {line} has bytes that are not {encoding} text; save the file as "
                                   "UTF-8 or GB18030, or give the right encoding"),
                        line=line, encoding=encoding.upper()) from None
        consumed += len(chunk)
        if out is not None:
            out.write(text)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise _fail(source, N_("the file ends in the middle of a character; it may be truncated")) from None


def _has_bom(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(3) == codecs.BOM_UTF8


# --- readers -------------------------------------------------------------------------------------


_CSV_LINE = re.compile(r"(?:Line|line)[: ]+(\d+)")


def _csv_header(source: Source, encoding: str) -> tuple[list[str], str]:
    """The header line, read by Python's csv module, and the delimiter: given, by file type, or
    sniffed from the header among , tab | ;."""
    with source.path.open("rb") as handle:
        raw = handle.readline(HEADER_BYTES)
    if len(raw) == HEADER_BYTES and not raw.endswith(b"\n"):
        raise _fail(source, N_("the first line is longer than {size} KB; the first line must be the header"),
                    size=HEADER_BYTES >> 10)
    try:
        first = raw.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError:
        raise _fail(source, N_("line {line} has bytes that are not {encoding} text; save the file as "
                               "UTF-8 or GB18030, or give the right encoding"), line=1,
                    encoding=encoding.upper()) from None
    delimiter = source.delimiter or {".csv": ",", ".tsv": "\t"}.get(source.path.suffix.lower())
    if delimiter is None:
        delimiter = max(",\t|;", key=first.count)
    try:
        header = next(csv.reader([first], delimiter=delimiter), [])
    except csv.Error as error:
        raise _fail(source, N_("the header line cannot be read ({detail})"), detail=str(error)) from None
    header = [h.strip() for h in header]
    if not any(header):
        raise _fail(source, N_("the first line must be the header (the names of the columns)"))
    _check_header(source, header)
    return header, delimiter


def _check_header(source: Source, header: list[str]) -> None:
    if len(header) > MAX_COLUMNS:
        raise _fail(source, N_("the header has {count} columns, more than the limit of {limit}"),
                    count=len(header), limit=MAX_COLUMNS)
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise _fail(source, N_("the header names {names} more than once"), names="、".join(repeated))


def read_csv(con: duckdb.DuckDBPyConnection, source: Source, work: Path, check: HeaderCheck | None = None) -> str:
    _refuse_wide_encodings(source)
    encoding = encoding_of(source)
    header, delimiter = _csv_header(source, encoding)
    if check is not None:
        check(header)  # a file is judged by its header before its body is read
    path, encoding = to_utf8(source, work, encoding)
    columns = "{" + ", ".join(f"{sql_string(h)}: 'VARCHAR'" for h in header) + "}"
    # No sniffing: the header fixes the columns, so a row with more or fewer fields is an error.
    options = ["header = true", "auto_detect = false", f"columns = {columns}", f"delim = {sql_string(delimiter)}",
               "quote = '\"'", "escape = '\"'", "strict_mode = true", "null_padding = false"]
    try:
        con.execute(f"CREATE TABLE raw_csv AS SELECT * FROM read_csv({sql_string(str(path))}, {', '.join(options)})")
    except duckdb.Error as error:
        found = _CSV_LINE.search(str(error))
        detail = str(error).splitlines()[0][:300]
        if found:
            raise _fail(source, N_("the CSV structure is broken at line {line} ({detail}); check quotes and the "
                                   "number of columns"), line=found.group(1), detail=detail) from None
        raise _fail(source, N_("the file could not be read as CSV ({detail})"), detail=detail) from None
    # The row number a person sees in the file: the header is line 1.
    con.execute("CREATE TABLE raw AS SELECT row_number() OVER () + 1 AS __row, * FROM raw_csv")
    con.execute("DROP TABLE raw_csv")
    return encoding


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


#: Excel's own sheet limit; a sheet cannot hold more rows.
XLSX_MAX_ROWS = 1_048_576
#: More columns than any resource has items; a wider header is a mistake or an attack.
MAX_COLUMNS = 1024
#: A million rows of twenty short columns inflate to about 250 MB of sheet XML; four times that
#: is refused before a byte is inflated (a 2 MB file can inflate to gigabytes).
XLSX_MAX_INFLATED = 1 << 30
#: Rows go to DuckDB in batches, so memory stays bounded whatever the sheet's size.
XLSX_BATCH = 50_000

HeaderCheck = Callable[[list[str]], object]


def _open_workbook(source: Source):
    try:
        inflated = inflated_size(source.path)
    except (zipfile.BadZipFile, OSError):
        raise _fail(source, N_("the file is not an Excel workbook (.xlsx)")) from None
    if inflated > XLSX_MAX_INFLATED:
        raise _fail(source, N_("the workbook inflates to {size} MB, more than the limit of {limit} MB; split it "
                               "or send CSV"), size=inflated >> 20, limit=XLSX_MAX_INFLATED >> 20)
    try:
        return load_workbook(source.path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        raise _fail(source, N_("the file is not an Excel workbook (.xlsx)")) from None


def _pick_sheet(source: Source, book):
    names = book.sheetnames
    if source.sheet is None:
        return book.worksheets[0]
    if source.sheet in names:
        return book[source.sheet]
    if source.sheet.isdigit() and 1 <= int(source.sheet) <= len(names):
        return book.worksheets[int(source.sheet) - 1]
    raise _fail(source, N_("there is no sheet {sheet}; the sheets are {names}"), sheet=source.sheet,
                names="、".join(names))


def _sheet_header(source: Source, cells: tuple) -> list[str]:
    cells = list(cells)
    while cells and (cells[-1] is None or str(cells[-1]).strip() == ""):
        cells.pop()  # formatting often widens a sheet past its last column
    header = [str(c).strip() if c is not None else f"column{i + 1}" for i, c in enumerate(cells)]
    if not header:
        raise _fail(source, N_("the first line must be the header (the names of the columns)"))
    _check_header(source, header)
    return header


def read_xlsx(con: duckdb.DuckDBPyConnection, source: Source, known_headers: set[str],
              check: HeaderCheck | None = None) -> None:
    """openpyxl's streaming reader, judged by its header before its body and written to DuckDB in
    batches: one Excel library for ingest and the catalog import, and bounded memory."""
    book = _open_workbook(source)
    try:
        rows = _pick_sheet(source, book).iter_rows(values_only=True)
        head = [r for r in (next(rows, None) for _ in range(20)) if r is not None]
        header_at = _header_row(head, known_headers) if head else 0
        header = _sheet_header(source, head[header_at] if head else ())
        if check is not None:
            check(header)
        batch = _XlsxBatch(con, header)
        for number, row in enumerate(head[header_at + 1:], start=header_at + 2):
            batch.take(number, row)
        for number, row in enumerate(rows, start=len(head) + 1):
            if number > XLSX_MAX_ROWS:
                raise _fail(source, N_("the sheet has more than {limit} rows"), limit=XLSX_MAX_ROWS)
            batch.take(number, row)
        batch.flush()
    finally:
        book.close()


class _XlsxBatch:
    """Rows of a sheet as text, appended to ``raw`` every :data:`XLSX_BATCH` rows."""

    def __init__(self, con: duckdb.DuckDBPyConnection, header: list[str]) -> None:
        self.con, self.header = con, header
        self.schema = {"__row": pl.Int64, **{h: pl.Utf8 for h in header}}
        self.numbers: list[int] = []
        self.data: list[list] = [[] for _ in header]
        columns = ", ".join(f"{quote_identifier(h)} VARCHAR" for h in header)
        con.execute(f"CREATE TABLE raw (__row BIGINT, {columns})")

    def take(self, number: int, row) -> None:
        if row is None or all(c is None or str(c).strip() == "" for c in row):
            return
        self.numbers.append(number)
        for i, column in enumerate(self.data):
            column.append(_cell_text(row[i]) if i < len(row) else None)
        if len(self.numbers) >= XLSX_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.numbers:
            return
        frame = pl.DataFrame({"__row": self.numbers, **dict(zip(self.header, self.data))}, schema=self.schema)
        self.con.register("raw_batch", frame)
        self.con.execute("INSERT INTO raw SELECT * FROM raw_batch")
        self.con.unregister("raw_batch")
        self.numbers, self.data = [], [[] for _ in self.header]


def _header_row(rows: list[tuple], known: set[str]) -> int:
    """The header is the row among the first twenty that names the most known columns (a title
    row or a blank row may come first)."""
    best, best_hits = 0, -1
    for index, row in enumerate(rows):
        hits = sum(1 for c in row if c is not None and normalise_header(str(c)) in known)
        if hits > best_hits:
            best, best_hits = index, hits
    return best


def _as_text_table(con: duckdb.DuckDBPyConnection, relation_sql: str, row_expr: str) -> None:
    columns = con.execute(f"DESCRIBE SELECT * FROM {relation_sql}").fetchall()
    casts = ", ".join(f"CAST({quote_identifier(c[0])} AS VARCHAR) AS {quote_identifier(c[0])}" for c in columns)
    con.execute(f"CREATE TABLE raw AS SELECT {row_expr} AS __row, {casts} FROM {relation_sql}")


def read_jsonl(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    _refuse_wide_encodings(source)
    deep = first_deep_line(source.path)
    if deep is not None:
        raise _fail(source, N_("line {line} nests arrays or objects more than {limit} deep; send one flat JSON "
                               "object per line"), line=deep, limit=MAX_JSON_DEPTH)
    relation = f"read_json({sql_string(str(source.path))}, format = 'newline_delimited')"
    try:
        _as_text_table(con, relation, "row_number() OVER ()")
    except duckdb.Error as error:
        found = _CSV_LINE.search(str(error))
        raise _fail(source, N_("the file is not valid JSON Lines (one JSON object per line){where}"),
                    where=f" (line {found.group(1)})" if found else "") from None


def read_parquet(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    try:
        _as_text_table(con, f"read_parquet({sql_string(str(source.path))})", "row_number() OVER ()")
    except duckdb.Error:
        raise _fail(source, N_("the file is not a Parquet file")) from None


def read_sql(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    """Pull from a department's database with any SQLAlchemy URL, in batches through Arrow."""
    try:
        engine = create_engine(source.url)
    except Exception as error:  # noqa: BLE001 - a bad URL or a missing driver
        raise _fail(source, N_("cannot connect: {detail}"), detail=str(error)[:300]) from None
    created = False
    try:
        with engine.connect() as connection:
            for batch in pl.read_database(source.query, connection, iter_batches=True, batch_size=100_000,
                                          infer_schema_length=None):
                frame = batch.select(pl.all().cast(pl.Utf8))
                con.register("sql_batch", frame)
                if created:
                    con.execute("INSERT INTO raw_sql SELECT * FROM sql_batch")
                else:
                    con.execute("CREATE TABLE raw_sql AS SELECT * FROM sql_batch")
                    created = True
                con.unregister("sql_batch")
    except DatongError:
        raise
    except Exception as error:  # noqa: BLE001 - whatever the department's database says
        raise _fail(source, N_("the query failed: {detail}"), detail=str(error).splitlines()[0][:300]) from None
    finally:
        engine.dispose()
    if not created:
        raise _fail(source, N_("the query returned no columns"))
    con.execute("CREATE TABLE raw AS SELECT row_number() OVER () AS __row, * FROM raw_sql")


def read_records(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    records = source.records or []
    if not all(isinstance(r, dict) for r in records):
        raise _fail(source, N_("each record must be a JSON object"))
    headers: dict[str, None] = {}
    for record in records:
        headers.update(dict.fromkeys(record))
    def text(v):
        return None if v is None else (json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else str(v))
    frame = pl.DataFrame({"__row": list(range(1, len(records) + 1)),
                          **{h: [text(r.get(h)) for r in records] for h in headers}},
                         schema={"__row": pl.Int64, **{h: pl.Utf8 for h in headers}})
    con.register("records_frame", frame)
    con.execute("CREATE TABLE raw AS SELECT * FROM records_frame")
    con.unregister("records_frame")


def read_source(con: duckdb.DuckDBPyConnection, source: Source, work: Path, known_headers: set[str],
                check: HeaderCheck | None = None) -> str | None:
    """Create ``raw`` from the source; returns the encoding used for text files. ``check`` sees
    the header of a CSV file or a sheet before the body is read (and may raise)."""
    if source.kind == "csv":
        return read_csv(con, source, work, check)
    if source.kind == "xlsx":
        read_xlsx(con, source, known_headers, check)
    elif source.kind == "jsonl":
        read_jsonl(con, source)
    elif source.kind == "parquet":
        read_parquet(con, source)
    elif source.kind == "sql":
        read_sql(con, source)
    else:
        read_records(con, source)
    return None


def normalise_header(text: str) -> str:
    """Headers are compared without surrounding or full-width spaces, case-insensitively."""
    return re.sub(r"[\s\u3000]+", "", text).lower()
