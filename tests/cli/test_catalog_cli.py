"""datong catalog import / export / template, as a department's data steward would use them."""

import io
import json

import yaml
from openpyxl import Workbook, load_workbook
from rdflib import Graph
from rdflib.namespace import DCAT, RDF

from datong.catalog import transfer
from tests.cli.test_cli import run
from tests.helpers import DEPT_CODE, OTHER_CODE

CATALOG = {"resources": [
    {"name": "户籍人口基本信息", "provider": DEPT_CODE, "summary": "本省户籍人口", "category": "1",
     "sharing_type": "conditional", "sharing_condition": "核验身份", "sharing_methods": ["api"], "open_type": "none",
     "update_cycle": "realtime", "keywords": ["户籍", "人口"],
     "items": [{"name": "公民身份号码", "element": "DE0001", "key": "person"}, {"name": "姓名", "element": "DE0002"}]},
    {"name": "婚姻登记信息", "provider": OTHER_CODE, "sharing_type": "unconditional", "sharing_methods": ["file"],
     "open_type": "none", "update_cycle": "daily",
     "items": [{"name": "男方公民身份号码", "element": "DE0001", "key": "person"}, {"name": "登记日期", "element": "DE0004"}]},
]}


def test_template_is_a_workbook_with_the_chinese_headers(settings, tmp_path):
    target = tmp_path / "模板.xlsx"
    result = run(settings, "catalog", "template", "-o", str(target))
    assert result.exit_code == 0, result.output
    sheet = load_workbook(target).worksheets[0]
    assert [c.value for c in sheet[2]][: len(transfer.HEADERS)] == transfer.HEADERS


def test_import_then_export_round_trips(settings, world, tmp_path):
    source = tmp_path / "catalog.yaml"
    source.write_text(yaml.safe_dump(CATALOG, allow_unicode=True), encoding="utf-8")
    preview = run(settings, "catalog", "import", str(source), "--dry-run")
    assert preview.exit_code == 0 and "Dry run, nothing changed: 2 to create" in preview.stdout
    assert "would create: 婚姻登记信息" in preview.stdout
    result = run(settings, "catalog", "import", str(source))
    assert result.exit_code == 0, result.output
    assert "2 created, 0 updated, 0 unchanged" in result.stdout  # the dry run created nothing
    twice = run(settings, "catalog", "import", str(source))  # no codes in the file: matched by provider + name
    assert twice.exit_code == 0 and "0 created, 0 updated, 2 unchanged" in twice.stdout

    exported = tmp_path / "out.yaml"
    assert run(settings, "catalog", "export", "--format", "yaml", "-o", str(exported)).exit_code == 0
    document = yaml.safe_load(exported.read_text(encoding="utf-8"))
    assert sorted(r["name"] for r in document["resources"]) == ["婚姻登记信息", "户籍人口基本信息"]
    assert all(r["code"] for r in document["resources"])
    again = run(settings, "catalog", "import", str(exported))
    assert again.exit_code == 0 and "0 created, 0 updated, 2 unchanged" in again.stdout

    workbook = tmp_path / "out.xlsx"
    assert run(settings, "catalog", "export", "-o", str(workbook), "--provider", DEPT_CODE).exit_code == 0
    rows = [r for r in load_workbook(workbook).worksheets[0].iter_rows(min_row=3, values_only=True) if any(r)]
    assert [r[transfer.HEADERS.index("信息项名称")] for r in rows] == ["公民身份号码", "姓名"]
    # The exported workbook is itself importable, and changes nothing.
    assert "0 created, 0 updated, 1 unchanged" in run(settings, "catalog", "import", str(workbook)).stdout

    ttl, jsonld = tmp_path / "c.ttl", tmp_path / "c.jsonld"
    assert run(settings, "catalog", "export", "--format", "dcat-ttl", "-o", str(ttl)).exit_code == 0
    assert run(settings, "catalog", "export", "--format", "dcat-jsonld", "-o", str(jsonld)).exit_code == 0
    assert len(list(Graph().parse(ttl, format="turtle").subjects(RDF.type, DCAT.Dataset))) == 2
    assert len(list(Graph().parse(jsonld, format="json-ld").subjects(RDF.type, DCAT.Dataset))) == 2
    json.loads(jsonld.read_text(encoding="utf-8"))


def test_a_bad_workbook_exits_2_naming_sheet_row_and_column(settings, world, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "民政厅"
    sheet.append(["示范省民政厅政务信息资源目录"])
    sheet.append(transfer.HEADERS)
    row = [None] * len(transfer.HEADERS)
    for header, value in {"信息资源名称": "死亡登记", "提供方代码": OTHER_CODE, "共享类型": "有条件共享",
                          "开放类型": "不予开放", "更新周期": "每周一次", "信息项名称": "公民身份号码",
                          "数据元标识符": "DE0001"}.items():
        row[transfer.HEADERS.index(header)] = value
    sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    path = tmp_path / "民政厅目录.xlsx"
    path.write_bytes(buffer.getvalue())

    result = run(settings, "catalog", "import", str(path))
    assert result.exit_code == 2
    assert "民政厅 #3 更新周期" in result.stderr and "每周一次" not in result.stdout
    chinese = run(settings, "catalog", "import", str(path), lang="zh-CN")
    assert "民政厅 #3 更新周期: 请填写以下之一" in chinese.stderr
    export = tmp_path / "after.json"
    run(settings, "catalog", "export", "--format", "json", "-o", str(export))
    assert json.loads(export.read_text(encoding="utf-8")) == {"resources": []}  # nothing was imported
