"""The files of an open dataset, built from the store: CSV, XLSX, JSON and Parquet.

They are built once per committed load (by the load event's consumer, or on the first download
after it) with DuckDB from the load's snapshot, written under temporary names and renamed into
place, so a download never sees half a file and a request never holds a database lock while
they are written. Statistics count people by division and age band; a count below
``SUPPRESS_BELOW`` is withheld (primary cell suppression), so no small group can be singled out.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
from openpyxl import Workbook
from sqlalchemy import func, or_, select, update

from datong import events
from datong.db.base import utcnow
from datong.errors import DatongError, NotFound
from datong.i18n import N_
from datong.opendata.models import PUBLISHED, RECORDS, STATISTICS, OpenDataset
from datong.opendata.service import PersonalData, personal_items, withdraw
from datong.security.audit import append_event
from datong.security.authz import Actor
from datong.store.models import COMMITTED, Load, Record
from datong.store.snapshots import last_snapshot
from datong.warehouse.engine import connect, quote_identifier, sql_string

log = logging.getLogger(__name__)
FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json",
           "parquet": "application/vnd.apache.parquet",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
XLSX_ROWS = 1_048_575  # a worksheet's rows, less the header
SUPPRESS_BELOW = 5
AGE_BANDS = ((0, 17, "0-17"), (18, 34, "18-34"), (35, 59, "35-59"), (60, 79, "60-79"), (80, 200, "80+"))
STATISTICS_COLUMNS = ("行政区划代码", "年龄段", "人数")
UNKNOWN = "未知"
BUILDER = Actor.system("opendata")


class NoData(DatongError):
    status = 404
    code = "no_open_data"
    message = N_("{dataset} has no data yet: its provider has not loaded any. Try again after the next load.")


class NoSuchFormat(DatongError):
    status = 404
    code = "no_such_format"
    message = N_("{dataset} is not offered as {format}: choose one of {choices}.")


@dataclass(frozen=True)
class Built:
    load_id: int
    folder: Path
    rows: int
    sizes: dict[str, int]

    def path(self, fmt: str) -> Path:
        return self.folder / f"data.{fmt}"


def folder(data_dir: Path, code: str, load_id: int) -> Path:
    return Path(data_dir) / "opendata" / code / f"load-{load_id}"


def _source(con: duckdb.DuckDBPyConnection, session, resource_id: int) -> None:
    """A table ``src`` (key, payload) of the resource's current records."""
    snapshot = last_snapshot(session, resource_id)
    if snapshot:
        con.execute(f"CREATE TABLE src AS SELECT __key AS key, payload FROM read_parquet({sql_string(snapshot)})")
        return
    con.execute("CREATE TABLE src (key VARCHAR, payload VARCHAR)")
    rows = session.execute(select(Record.key, Record.payload).where(Record.resource_id == resource_id)).yield_per(50_000)
    for chunk in rows.partitions():
        con.executemany("INSERT INTO src VALUES (?, ?)", [tuple(r) for r in chunk])


def _field(name: str) -> str:
    return f"json_extract_string(payload, {sql_string('$.' + json.dumps(name, ensure_ascii=False))})"


def _records_sql(items: list[str]) -> str:
    columns = ", ".join(f"{_field(name)} AS {quote_identifier(name)}" for name in items)
    return f"SELECT {columns} FROM src ORDER BY key"


def _statistics_sql(spec: dict, today: date) -> str:
    id_value = f"datong_clean({_field(spec['id'])})" if spec.get("id") else "NULL"
    division = f"datong_clean({_field(spec['division'])})" if spec.get("division") else f"substr({id_value}, 1, 6)"
    if spec.get("birth"):
        birth = f"try_cast(datong_date_standard(datong_clean({_field(spec['birth'])})) AS DATE)"
    else:
        birth = f"try_strptime(substr({id_value}, 7, 8), '%Y%m%d')::DATE"
    age = f"date_diff('year', b, DATE {sql_string(today.isoformat())}) - " \
          f"CASE WHEN strftime(b, '%m%d') > {sql_string(today.strftime('%m%d'))} THEN 1 ELSE 0 END"
    bands = " ".join(f"WHEN a BETWEEN {low} AND {high} THEN {sql_string(label)}" for low, high, label in AGE_BANDS)
    c1, c2, c3 = (quote_identifier(c) for c in STATISTICS_COLUMNS)
    return f"""
        WITH people AS (SELECT CASE WHEN regexp_full_match(d, '[0-9]{{6}}') THEN d ELSE {sql_string(UNKNOWN)} END AS d,
                               CASE {bands} ELSE {sql_string(UNKNOWN)} END AS band
                        FROM (SELECT {division} AS d, b, {age} AS a FROM (SELECT *, {birth} AS b FROM src)))
        SELECT d AS {c1}, band AS {c2}, CASE WHEN count(*) < {SUPPRESS_BELOW} THEN NULL ELSE count(*) END AS {c3}
        FROM people GROUP BY d, band ORDER BY d, band"""


def _replace(folder_: Path, write) -> None:
    """Write into a temporary folder, then rename it into place (the last of two racing builds wins)."""
    folder_.parent.mkdir(parents=True, exist_ok=True)
    work = folder_.parent / f".{folder_.name}.{os.getpid()}.{id(write)}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        write(work)
        try:
            os.replace(work, folder_)
        except OSError:
            if not folder_.exists():
                raise
            shutil.rmtree(work, ignore_errors=True)  # another process built the same load first
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _xlsx(con: duckdb.DuckDBPyConnection, sql: str, path: Path) -> None:
    book = Workbook(write_only=True)  # rows stream to the file, not into memory
    sheet = book.create_sheet("data")
    cursor = con.execute(sql)
    sheet.append([d[0] for d in cursor.description])
    while batch := cursor.fetchmany(10_000):
        for row in batch:
            sheet.append(list(row))
    book.save(path)


def build(database, dataset_id: int, *, today: date | None = None) -> Built:
    """Build the dataset's files from its resource's last committed load, and record them."""
    today = today or date.today()
    with database.reading() as session:
        dataset = session.get(OpenDataset, dataset_id)
        load_id = session.scalar(select(Load.id).where(Load.resource_id == dataset.resource_id,
                                                      Load.status == COMMITTED).order_by(Load.id.desc()).limit(1))
        if load_id is None:
            raise NoData(dataset=dataset.title)
        target = folder(database.data_dir, dataset.code, load_id)
        items = [i.name for i in dataset.resource.items]
        kind, spec, code = dataset.kind, dict(dataset.spec), dataset.code
        refused = [r.item for r in personal_items(dataset.resource)] if kind == RECORDS else []
        name = dataset.resource.name
        if not refused:
            con = connect(database.data_dir / "tmp")
            try:
                _source(con, session, dataset.resource_id)
            except BaseException:
                con.close()
                raise
    if refused:  # the resource gained an item with personal data after it was published
        _withdraw(database, code, refused)
        raise PersonalData(resource=name, items="、".join(refused))
    try:
        sql = _statistics_sql(spec, today) if kind == STATISTICS else _records_sql(items)
        con.execute(f"CREATE TABLE out AS {sql}")
        rows = con.execute("SELECT count(*) FROM out").fetchone()[0]

        def write(work: Path) -> None:
            con.execute(f"COPY out TO {sql_string(str(work / 'data.csv'))} (FORMAT csv, HEADER)")
            con.execute(f"COPY out TO {sql_string(str(work / 'data.parquet'))} (FORMAT parquet)")
            con.execute(f"COPY out TO {sql_string(str(work / 'data.json'))} (FORMAT json, ARRAY true)")
            if rows <= XLSX_ROWS:
                _xlsx(con, "SELECT * FROM out", work / "data.xlsx")

        if not target.exists():
            _replace(target, write)
    finally:
        con.close()
    sizes = {fmt: (target / f"data.{fmt}").stat().st_size for fmt in FORMATS if (target / f"data.{fmt}").exists()}
    with database.unit_of_work() as session:
        session.execute(update(OpenDataset).where(OpenDataset.id == dataset_id).values(
            load_id=load_id, rows=rows, sizes=sizes, built_at=utcnow()))
        if kind == STATISTICS:  # personal data was read, in aggregate, to count it
            append_event(session, actor=BUILDER, action="open.statistics", target=f"open_dataset:{code}",
                         detail={"load": load_id, "rows": rows, "suppressed_below": SUPPRESS_BELOW})
    for old in target.parent.glob("load-*"):
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    return Built(load_id, target, rows, sizes)


def _withdraw(database, code: str, items: list[str]) -> None:
    """Take a records dataset off the portal, and say so in the chain: its files are never built
    with personal data, whoever changed its resource's items after it was published."""
    try:
        with database.unit_of_work() as session:
            withdraw(session, BUILDER, code=code, reason="personal_data", items=items)
    except NotFound:
        return  # another process withdrew it first
    log.warning("open dataset %s withdrawn: its resource now has personal data in %s", code, ", ".join(items))


def current(database, dataset: OpenDataset) -> Built:
    """The dataset's files for its resource's last load: those built, or built now."""
    if dataset.load_id is not None:
        target = folder(database.data_dir, dataset.code, dataset.load_id)
        with database.reading() as session:
            latest = session.scalar(select(Load.id).where(Load.resource_id == dataset.resource_id,
                                                         Load.status == COMMITTED).order_by(Load.id.desc()).limit(1))
        if latest == dataset.load_id and (target / "data.csv").exists():
            return Built(dataset.load_id, target, dataset.rows, dict(dataset.sizes))
    return build(database, dataset.id)


def file_for(database, dataset: OpenDataset, fmt: str) -> Path:
    if fmt not in FORMATS:
        raise NoSuchFormat(dataset=dataset.title, format=fmt, choices=", ".join(FORMATS))
    built = current(database, dataset)
    path = built.path(fmt)
    if not path.exists():
        raise NoSuchFormat(dataset=dataset.title, format=fmt, choices=", ".join(built.sizes))
    return path


def read_rows(database, dataset: OpenDataset, *, limit: int, offset: int = 0) -> tuple[list[str], list[list], int]:
    """A page of the dataset's rows, read from its Parquet file (no database lock)."""
    built = current(database, dataset)
    con = duckdb.connect(":memory:")
    try:
        cursor = con.execute(f"SELECT * FROM read_parquet({sql_string(str(built.path('parquet')))}) "
                             f"LIMIT {int(limit)} OFFSET {int(offset)}")
        columns = [d[0] for d in cursor.description]
        rows = [list(r) for r in cursor.fetchall()]
    finally:
        con.close()
    return columns, rows, built.rows


def stale(session) -> list[int]:
    """Published datasets whose files are older than their resource's last committed load."""
    latest = (select(Load.resource_id, func.max(Load.id).label("load_id")).where(Load.status == COMMITTED)
              .group_by(Load.resource_id).subquery())
    return list(session.scalars(select(OpenDataset.id).join(latest, latest.c.resource_id == OpenDataset.resource_id)
                                .where(OpenDataset.status == PUBLISHED,
                                       or_(OpenDataset.load_id.is_(None), OpenDataset.load_id != latest.c.load_id))))


def build_stale(database) -> int:
    """After each round of events (a load committed): the files of the datasets it made stale,
    built outside the event's transaction (a build writes files for a while, and commits its own)."""
    with database.reading() as session:
        ids = stale(session)
    built = 0
    for dataset_id in ids:
        try:
            build(database, dataset_id)
            built += 1
        except DatongError as error:  # withdrawn, or no data: the others are built all the same
            log.warning("open dataset %s not built: %s", dataset_id, error.code)
    return built


events.AFTER_DISPATCH["opendata.files"] = build_stale
