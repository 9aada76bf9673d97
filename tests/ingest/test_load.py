"""Loads through the flow: sources, encodings, modes, standardisation, row-level and fatal failures."""

import json
import sqlite3

import polars as pl
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from datong.ingest.flows import run_load
from datong.store.models import FAILED, Load, LoadProblem, Record, RecordKey
from datong.ingest.sources import LoadFailed, Source
from tests.helpers import POPULATION_HEADER, citizen_id, population_rows
from tests.ingest.conftest import write_csv


def load(database, operator, code, path, **kwargs):
    mode, allow = kwargs.pop("mode", "full"), kwargs.pop("allow_deletes", False)
    return run_load(database, operator, resource_code=code, source=Source.from_path(path, **kwargs), mode=mode,
                    allow_deletes=allow)


def records(database, code=None) -> dict[str, dict]:
    with database.unit_of_work() as session:
        return {r.key: json.loads(r.payload) | {"__version": r.version} for r in session.scalars(select(Record))}


def count(database, model) -> int:
    with database.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_each_encoding_is_detected_and_loaded(database, operator, population, tmp_path, encoding):
    rows = population_rows(50)
    rows[0][4] = "北京市海淀区中关村大街１号"  # full-width digit, and a character GBK has
    path = write_csv(tmp_path / "p.csv", POPULATION_HEADER, rows, encoding=encoding)
    result = load(database, operator, population, path)
    assert result.status == "committed" and (result.read, result.inserted, result.rejected) == (50, 50, 0)
    assert result.encoding == {"gbk": "gb18030"}.get(encoding, encoding)
    stored = records(database)
    assert stored[rows[0][0]]["住址"] == "北京市海淀区中关村大街1号"
    assert stored[rows[1][0]]["姓名"] == "测试2"


def test_standardisation_before_rules(database, operator, population, tmp_path):
    id15 = "330106800101001"  # the 15-digit form of 330106198001010011 (upgraded with its check)
    rows = [
        [citizen_id(3, "19800101")[:-1] + "x" if citizen_id(3, "19800101").endswith("X") else citizen_id(3, "19800101"),
         " 张三 ", "男", "1980年1月1日", "地址"],
        [id15, "李四", "1", "1980/1/1", "地址"],
        [citizen_id(8, "19800102"), "王五", "女性", "19800102", "地址"],
    ]
    path = write_csv(tmp_path / "p.csv", POPULATION_HEADER, rows)
    result = load(database, operator, population, path)
    assert result.rejected == 0, result
    stored = records(database)
    upgraded = next(k for k in stored if k.startswith("33010619800101001"))
    assert len(upgraded) == 18 and stored[upgraded]["出生日期"] == "1980-01-01"
    first = stored[citizen_id(3, "19800101")]
    assert first == {"公民身份号码": citizen_id(3, "19800101"), "姓名": "张三", "性别代码": "1", "出生日期": "1980-01-01",
                     "住址": "地址", "__version": 1}
    assert stored[citizen_id(8, "19800102")]["性别代码"] == "2"


def test_row_problems_reject_only_their_rows_with_reasons(database, operator, population, tmp_path):
    rows = population_rows(10)
    good_id = rows[0][0]
    rows[1][0] = rows[1][0][:-1] + ("1" if rows[1][0][-1] != "1" else "2")  # bad check character
    rows[2][3] = "1990-02-30"  # impossible date
    rows[3][2] = "7"  # not a GB/T 2261.1 code
    rows[4][3] = "2099-01-01"  # a birth in the future
    rows[5][0] = ""  # no key
    rows.append(list(rows[6]))  # the same person twice
    rows[7][2] = "2" if rows[7][2] == "1" else "1"  # sex disagrees with the ID: a warning, still loaded
    path = write_csv(tmp_path / "p.csv", POPULATION_HEADER, rows)
    result = load(database, operator, population, path)
    assert (result.read, result.rejected, result.accepted, result.warned) == (11, 6, 5, 1)
    with database.unit_of_work() as session:
        found = {(p.row, p.kind, p.severity) for p in session.scalars(select(LoadProblem))}
    # rows are numbered as in the file: the header is row 1
    assert {(3, "id_number", "reject"), (4, "date", "reject"), (5, "code_list", "reject"),
            (6, "date_range", "reject"), (7, "key", "reject"), (12, "unique_key", "reject"),
            (9, "cross_field", "warn")} <= found
    assert good_id in records(database) and len(records(database)) == 5


def test_full_load_replaces_and_incremental_upserts_and_deletes(database, operator, population, tmp_path):
    rows = population_rows(20)
    load(database, operator, population, write_csv(tmp_path / "a.csv", POPULATION_HEADER, rows))
    changed = [list(r) for r in rows[:15]]
    changed[0][4] = "新地址"
    with pytest.raises(LoadFailed) as guarded:  # a quarter of the records would go: not without saying so
        load(database, operator, population, write_csv(tmp_path / "b.csv", POPULATION_HEADER, changed))
    assert "delete 5 of the resource's 20 records (25%), more than 20%" in guarded.value.localised("en")
    assert "--allow-deletes" in guarded.value.localised("en") and len(records(database)) == 20
    second = load(database, operator, population, write_csv(tmp_path / "b.csv", POPULATION_HEADER, changed),
                  allow_deletes=True)
    assert (second.inserted, second.updated, second.unchanged, second.deleted) == (0, 1, 14, 5)
    stored = records(database)
    assert len(stored) == 15 and stored[rows[0][0]]["住址"] == "新地址" and stored[rows[0][0]]["__version"] == 2

    header = [*POPULATION_HEADER, "操作"]
    delta = [[*rows[1], "删除"], [*rows[2][:4], "又一个地址", "修改"], [*population_rows(1, start=100)[0], "新增"]]
    third = load(database, operator, population, write_csv(tmp_path / "c.csv", header, delta), mode="incremental")
    assert (third.inserted, third.updated, third.deleted, third.unchanged) == (1, 1, 1, 0)
    stored = records(database)
    assert len(stored) == 15 and rows[1][0] not in stored and stored[rows[2][0]]["住址"] == "又一个地址"
    with database.unit_of_work() as session:
        keys = session.scalars(select(RecordKey.value).where(RecordKey.kind == "person")).all()
    assert sorted(keys) == sorted(stored)  # every record findable by the citizen ID it mentions


def test_a_rejected_row_does_not_delete_what_was_there(database, operator, population, tmp_path):
    rows = population_rows(5)
    load(database, operator, population, write_csv(tmp_path / "a.csv", POPULATION_HEADER, rows))
    rows[0][3] = "不是日期"
    again = load(database, operator, population, write_csv(tmp_path / "b.csv", POPULATION_HEADER, rows))
    assert (again.rejected, again.deleted, again.unchanged) == (1, 0, 4)
    assert len(records(database)) == 5


def _excel(path, rows, title=True):
    book = Workbook()
    first = book.active
    first.title = "说明"
    first.append(["本表为示例"])
    sheet = book.create_sheet("人口")
    if title:
        sheet.append(["某市常住人口信息（2026年11月）"])
        sheet.append([])
    sheet.append(POPULATION_HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_excel_sheet_choice_and_header_detection(database, operator, population, tmp_path):
    rows = population_rows(8)
    rows[2][3] = None
    path = _excel(tmp_path / "p.xlsx", rows)
    result = load(database, operator, population, path, sheet="人口")
    assert (result.read, result.inserted) == (8, 8)
    with pytest.raises(LoadFailed) as missing:
        load(database, operator, population, path, sheet="不存在")
    assert "说明、人口" in missing.value.localised("zh-CN")


def test_json_lines_parquet_and_a_database_pull(database, operator, population, tmp_path):
    rows = population_rows(30)
    frame = pl.DataFrame({h: [r[i] for r in rows] for i, h in enumerate(POPULATION_HEADER)})
    frame[:10].write_ndjson(tmp_path / "p.jsonl")
    assert load(database, operator, population, tmp_path / "p.jsonl", mode="incremental").inserted == 10
    frame[10:20].write_parquet(tmp_path / "p.parquet")
    assert load(database, operator, population, tmp_path / "p.parquet", mode="incremental").inserted == 10

    department_db = tmp_path / "department.db"
    with sqlite3.connect(department_db) as connection:
        connection.execute("CREATE TABLE people (sfzh TEXT, xm TEXT, xb TEXT, csrq TEXT, dz TEXT)")
        connection.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?)", rows[20:])
    query = ("SELECT sfzh AS 公民身份号码, xm AS 姓名, xb AS 性别代码, csrq AS 出生日期, dz AS 住址 FROM people")
    pulled = run_load(database, operator, resource_code=population,
                      source=Source.from_sql(f"sqlite:///{department_db}", query), mode="incremental")
    assert pulled.inserted == 10 and pulled.source_kind == "sql"
    assert len(records(database)) == 30


@pytest.mark.parametrize("content, words", [
    ("公民身份号码,姓名,性别代码,出生日期,住址\n".encode() + b"\xff\xfe,1,2,3,4\n", "line 2"),
    # judged by its header first: the unknown column is named before the bad bytes are read
    ("公民身份号码,x\n".encode() + b"\xff\xfe,1\n", "unknown columns x"),
    ("公民身份号码,姓名,性别代码,出生日期,住址\n1,\"未闭合,1,2,3\n".encode(), "CSV"),
    ("公民身份号码,姓名,性别代码,出生日期,住址\n1,2,3,4,5,6,7\n".encode(), "line 2"),
    ("姓名,性别代码,出生日期,住址\n张三,1,1980-01-01,地址\n".encode(), "公民身份号码"),
])
def test_fatal_problems_load_nothing(database, operator, population, tmp_path, content, words):
    rows = population_rows(5)
    load(database, operator, population, write_csv(tmp_path / "good.csv", POPULATION_HEADER, rows))
    before = records(database)
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(LoadFailed) as failed:
        load(database, operator, population, path, encoding="utf-8" if b"\xff" in content else None)
    assert words in failed.value.localised("en")
    assert records(database) == before
    with database.unit_of_work() as session:
        last = session.scalars(select(Load).order_by(Load.id.desc())).first()
        assert last.status == FAILED and words in json.loads(last.error)["en"]
        assert session.scalar(select(func.count()).select_from(LoadProblem).where(LoadProblem.load_id == last.id)) == 0


def test_unknown_columns_are_named_and_a_saved_mapping_fixes_them(database, operator, population, tmp_path):
    from datong.catalog.models import Resource

    header = ["身份证号", "XM", "性别", "出生日期", "住址", "备注"]
    path = write_csv(tmp_path / "p.csv", header, [[*r, "x"] for r in population_rows(3)])
    with pytest.raises(LoadFailed) as failed:
        load(database, operator, population, path)
    message = failed.value.localised("zh-CN")
    assert "XM、备注" in message and "姓名" in message  # unknown, and the item that has no column
    from datong.ingest.service import set_column_mapping

    with database.unit_of_work() as session:
        set_column_mapping(session, operator, resource_code=population, mapping={"XM": "姓名"})
        assert session.scalar(select(Resource.column_mapping).where(Resource.code == population)) == {"XM": "姓名"}
    write_csv(path, header[:5], population_rows(3))
    assert load(database, operator, population, path).inserted == 3


def test_tab_separated_files(database, operator, population, tmp_path):
    path = write_csv(tmp_path / "p.tsv", POPULATION_HEADER, population_rows(4), delimiter="\t")
    assert load(database, operator, population, path).inserted == 4


def test_only_the_provider_and_the_bureau_load(database, population, tmp_path, world):
    from datong.errors import PermissionDenied
    from datong.security.authz import Actor
    from datong.security.roles import Role
    from tests.helpers import OTHER_CODE

    outsider = Actor(kind="user", name="x", id=1, department_id=999, department_code=OTHER_CODE,
                     roles=frozenset({Role.DATA_STEWARD}))
    path = write_csv(tmp_path / "p.csv", POPULATION_HEADER, population_rows(2))
    with pytest.raises(PermissionDenied):
        load(database, outsider, population, path)
    assert count(database, Record) == 0


def test_old_snapshots_are_pruned_and_the_next_diff_still_works(database, operator, population, tmp_path):
    from pathlib import Path

    database.snapshot_keep = 2
    rows = population_rows(20)
    for n in range(4):  # each load changes one row's address
        rows[n][4] = f"杭州市上城区第{n}号"
        load = run_load(database, operator, resource_code=population, source=Source.from_path(
            write_csv(tmp_path / f"v{n}.csv", POPULATION_HEADER, rows)))
    assert load.counts()["updated"] == 1 and load.counts()["unchanged"] == 19  # diffed against the kept snapshot
    with database.reading() as session:
        kept = [p for p in session.scalars(select(Load.snapshot).order_by(Load.id)) if p]
    files = sorted(Path(database.data_dir / "snapshots").glob("resource-*/load-*.parquet"))
    assert len(kept) == 2 and sorted(map(Path, kept)) == files


def test_rejected_rows_are_kept_as_read_to_fix_and_load_again(database, operator, population, tmp_path):
    from datong.ingest import service

    rows = population_rows(4)
    bad = [list(r) for r in rows]
    bad[1][0] = bad[1][0][:-1] + ("0" if bad[1][0][-1] != "0" else "1")  # a wrong check character
    bad[2][3] = "1980-13-45"
    path = tmp_path / "two-bad.csv"
    path.write_text(",".join([*POPULATION_HEADER]) + "\n" + "\n".join(",".join(r) for r in bad) + "\n",
                    encoding="utf-8")
    loaded = load(database, operator, population, path)
    assert loaded.rejected == 2
    with database.reading() as session:
        found = service.problems(session, operator, loaded.id)
    assert sorted(found.originals) == [3, 4]  # file lines of the two bad rows
    assert found.originals[3][POPULATION_HEADER[0]] == bad[1][0]  # exactly as written, not standardised
    assert found.originals[4][POPULATION_HEADER[3]] == "1980-13-45"
    again = service.report(found, "csv", "en", part="rows").decode("utf-8-sig").splitlines()
    assert again[0] == ",".join(POPULATION_HEADER) and len(again) == 3  # the header and the two rows
    fixed = tmp_path / "fixed.csv"
    fixed.write_text("\n".join([again[0], ",".join(rows[1]), ",".join(rows[2])]) + "\n", encoding="utf-8")
    second = load(database, operator, population, fixed, mode="incremental")
    assert (second.rejected, second.inserted) == (0, 2)
