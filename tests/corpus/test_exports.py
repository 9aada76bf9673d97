"""Values that a spreadsheet would run as formulas leave the hub as text: the rejected-rows report
(CSV and xlsx), the file export of shared data (CSV) and the catalog workbook."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
from openpyxl import load_workbook
from sqlalchemy import select

from datong.catalog import transfer
from datong.catalog.models import Resource
from datong.ingest.flows import run_load
from datong.ingest.sources import Source
from datong.untrusted import is_formula, neutralise
from tests.helpers import citizen_id
from tests.ingest.conftest import population, write_csv  # noqa: F401 - the fixture
from tests.sharing.test_sharing import HEADER, ask, shared  # noqa: F401 - the fixture

FORMULA = '=HYPERLINK("HTTP://EVIL.EXAMPLE","X")'  # upper case: ID numbers are standardised so
FILES = Path(__file__).parent / "files"


def test_the_rule_itself():
    assert [neutralise(v) for v in ("=1+2", "+1+2", "-2+3", "@SUM(A1)", "\tx", "\r=x")] == [
        "'=1+2", "'+1+2", "'-2+3", "'@SUM(A1)", "'\tx", "'\r=x"]
    assert [neutralise(v) for v in ("-12.5", "+86", "1e5", "张三", "", None, 7)] == ["-12.5", "+86", "1e5", "张三", "",
                                                                                   None, 7]
    assert not is_formula("330106198001010013")


def test_rejected_rows_report_keeps_formulas_as_text(client, login, population):
    headers = login("dadmin")
    with (FILES / "formula.csv").open("rb") as handle:
        load = client.post(f"/api/v1/resources/{population}/loads", headers=headers,
                           files={"file": ("formula.csv", handle)}, data={"mode": "incremental"}).json()
    assert load["rejected"] == 1
    text = client.get(f"/api/v1/loads/{load['id']}/rejections?format=csv", headers=headers).content.decode("utf-8-sig")
    values = [row[2] for row in csv.reader(io.StringIO(text))][1:]
    assert "'" + FORMULA in values and FORMULA not in values
    book = load_workbook(io.BytesIO(client.get(f"/api/v1/loads/{load['id']}/rejections?format=xlsx",
                                               headers=headers).content))
    cells = [c for row in book.active.iter_rows(min_row=2) for c in row if c.value == FORMULA]
    assert cells and all(c.data_type == "s" for c in cells)  # the exact value, as text, not a formula


def test_shared_csv_export_keeps_formulas_as_text(client, shared, database, operator, tmp_path):
    row = [citizen_id(99), "=1+2", "1", "1980-01-01", "@SUM(A1)", "-5"]
    run_load(database, operator, resource_code=shared["open"], mode="incremental",
             source=Source.from_path(write_csv(tmp_path / "more.csv", HEADER, [row])))
    with database.unit_of_work() as session:
        session.scalar(select(Resource).where(Resource.code == shared["open"])).sharing_methods = ["api", "file"]
    ask(client, shared["system"], shared["open"], ["姓名", "住址", "联系电话"])
    answer = client.get(f"/api/v1/share/{shared['open']}/export", headers={**shared["system"], "X-Purpose": "x"})
    assert answer.status_code == 200, answer.text
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8"))))
    mine = next(r for r in rows if r["姓名"].endswith("1+2"))
    assert mine["姓名"] == "'=1+2" and mine["住址"].startswith("'@")
    parquet = client.get(f"/api/v1/share/{shared['open']}/export?format=parquet",
                         headers={**shared["system"], "X-Purpose": "x"})
    assert "=1+2" in pl.read_parquet(io.BytesIO(parquet.content))["姓名"].to_list()  # Parquet is exact


def test_catalog_workbook_keeps_formulas_as_text(database, operator, world):
    with database.unit_of_work() as session:
        resource = session.scalars(select(Resource)).first()
        if resource is None:
            from datong.catalog import service
            from datong.catalog.schemas import ResourceIn
            from tests.helpers import DEPT_CODE, resource_body
            resource = service.create_resource(session, operator, data=ResourceIn.model_validate(
                resource_body(DEPT_CODE, summary="=cmd|' /C calc'!A0")))
        else:
            resource.summary = "=cmd|' /C calc'!A0"
        content = transfer.export_workbook([resource])
    cells = [c for row in load_workbook(io.BytesIO(content)).active.iter_rows() for c in row
             if c.value == "=cmd|' /C calc'!A0"]
    assert cells and all(c.data_type == "s" for c in cells)
