"""Excel/YAML/JSON import and export: all or nothing, problems located, round trips unchanged."""

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from datong.catalog import service, transfer
from datong.catalog.models import Resource
from tests.helpers import DEPT_CODE, OTHER_CODE


def _workbook(rows: list[list], headers=None) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "公安厅目录"
    sheet.append(["示范省公安厅政务信息资源目录"])
    sheet.append(headers or transfer.HEADERS)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _row(resource: dict | None, item: list) -> list:
    resource_cells = [None] * len(transfer.RESOURCE_COLUMNS)
    for header, value in (resource or {}).items():
        resource_cells[transfer.HEADERS.index(header)] = value
    return resource_cells + item


GOOD = [
    _row({"信息资源名称": "户籍人口基本信息", "提供方代码": DEPT_CODE, "资源分类": "基础信息资源", "共享类型": "有条件共享",
          "共享条件": "核验身份", "共享方式": "接口、订阅", "开放类型": "不予开放", "更新周期": "实时",
          "关键字": "户籍、人口", "发布日期": "2026-01-01"},
         ["公民身份号码", "DE0001", None, None, None, "公民身份号码", None]),
    _row(None, ["姓名", "DE0002", None, None, None, None, None]),
    _row({"信息资源名称": "死亡登记信息", "提供方代码": OTHER_CODE, "共享类型": "无条件共享", "更新周期": "每日"},
         ["公民身份号码", "DE0001", None, None, None, "公民身份号码", None]),
    _row(None, ["死亡日期", "DE0017", None, None, None, None, None]),
]


def _count(database) -> int:
    with database.unit_of_work() as session:
        return session.scalar(select(func.count(Resource.id)))


def test_a_good_workbook_imports(database, operator, world):
    with database.unit_of_work() as session:
        result = transfer.import_catalog(session, operator, filename="目录.xlsx", content=_workbook(GOOD))
    assert len(result.created) == 2
    with database.unit_of_work() as session:
        resource = service.get_resource(session, result.created[0])
        assert resource.sharing_methods == ["api", "subscription"] and resource.keywords == ["户籍", "人口"]
        assert [i.name for i in resource.items] == ["公民身份号码", "姓名"] and resource.items[0].key_kind == "person"


def test_importing_again_updates_by_code_or_by_provider_and_name_and_a_dry_run_changes_nothing(
        database, operator, world):
    with database.unit_of_work() as session:
        first = transfer.import_catalog(session, operator, filename="目录.xlsx", content=_workbook(GOOD))
    changed = [list(r) for r in GOOD]
    changed[0][transfer.HEADERS.index("更新周期")] = "每周"  # the rows carry no code: matched by provider + name
    with database.unit_of_work() as session:
        preview = transfer.import_catalog(session, operator, filename="目录.xlsx", content=_workbook(changed),
                                          dry_run=True)
    assert preview.dry_run and preview.created == [] and len(preview.updated) == 1
    assert preview.changes[preview.updated[0]] == ["update_cycle"] and len(preview.unchanged) == 1
    with database.reading() as session:
        assert service.get_resource(session, preview.updated[0]).update_cycle == "realtime"  # untouched
    with database.unit_of_work() as session:
        applied = transfer.import_catalog(session, operator, filename="目录.xlsx", content=_workbook(changed))
    assert applied.updated == preview.updated and _count(database) == len(first.created)
    with database.reading() as session:
        assert service.get_resource(session, applied.updated[0]).update_cycle == "weekly"


def test_a_workbook_with_mistakes_is_rejected_whole_with_located_problems(database, operator, world):
    bad = [list(r) for r in GOOD]
    bad[0][transfer.HEADERS.index("共享类型")] = "随便共享"  # not a sharing type
    bad[1][transfer.HEADERS.index("数据元标识符")] = "DE9999"  # unknown element
    bad[2][transfer.HEADERS.index("更新周期")] = None  # required
    with pytest.raises(transfer.CatalogRejected) as rejected, database.unit_of_work() as session:
        transfer.import_catalog(session, operator, filename="目录.xlsx", content=_workbook(bad))
    problems = {(p.row, p.column): p.localise("zh-CN") for p in rejected.value.problems}
    assert problems[(3, "共享类型")].startswith("请填写以下之一：无条件共享、有条件共享、不予共享")
    assert problems[(5, "更新周期")] == "必填"
    assert "DE9999" in problems[(4, "数据元标识符")]
    assert all(p.sheet == "公安厅目录" for p in rejected.value.problems)
    assert len(rejected.value.problems) == 3
    assert _count(database) == 0  # nothing half-imported


def test_service_errors_point_at_the_row(database, operator, world):
    bad = [list(r) for r in GOOD]
    bad[1][transfer.HEADERS.index("数据元标识符")] = "DE9999"
    bad.append(_row(None, ["死亡日期", "DE0017", None, None, None, None, None]))  # a second 死亡日期
    with pytest.raises(transfer.CatalogRejected) as rejected, database.unit_of_work() as session:
        transfer.import_catalog(session, operator, filename="x.xlsx", content=_workbook(bad))
    first, second = rejected.value.problems
    assert "DE9999" in first.localise("en")
    assert (second.row, second.column, second.localise("en")) == (7, "信息项", "this data item name appears twice")
    assert _count(database) == 0


def test_unknown_and_missing_columns(database, operator, world):
    headers = [h for h in transfer.HEADERS if h != "提供方代码"] + ["颜色"]
    with pytest.raises(transfer.CatalogRejected) as rejected, database.unit_of_work() as session:
        transfer.import_catalog(session, operator, filename="x.xlsx", content=_workbook([], headers))
    columns = {p.column: p.localise("en") for p in rejected.value.problems}
    assert columns["提供方代码"] == "this column is missing" and "unknown column" in columns["颜色"]


def test_not_a_workbook(database, operator, world):
    with pytest.raises(transfer.CatalogRejected) as rejected, database.unit_of_work() as session:
        transfer.import_catalog(session, operator, filename="x.xlsx", content=b"PK not really")
    assert "not an Excel workbook" in rejected.value.problems[0].localise("en")


def test_permission_is_checked_per_resource(database, world):
    from datong.security.models import User
    from datong.security.service import actor_for_user

    with database.unit_of_work() as session:
        admin = actor_for_user(session.scalar(select(User).where(User.username == "dadmin")))
    with pytest.raises(transfer.CatalogRejected) as rejected, database.unit_of_work() as session:
        transfer.import_catalog(session, admin, filename="x.xlsx", content=_workbook(GOOD))
    (problem,) = rejected.value.problems
    assert problem.row == 5 and "edit this department's catalog" in problem.localise("en")
    assert _count(database) == 0


@pytest.mark.parametrize("fmt", ["xlsx", "yaml", "json"])
def test_export_then_import_round_trips_unchanged(database, operator, world, settings, fmt):
    with database.unit_of_work() as session:
        transfer.import_catalog(session, operator, filename="x.xlsx", content=_workbook(GOOD))
    with database.unit_of_work() as session:
        resources, _ = service.search_resources(session)
        before = [service.snapshot(r) for r in resources]
        exported = (transfer.export_workbook(resources) if fmt == "xlsx"
                    else transfer.export_structured(resources, fmt))
    with database.unit_of_work() as session:
        result = transfer.import_catalog(session, operator, filename=f"catalog.{fmt}", content=exported)
    assert result.unchanged == [s["code"] for s in before] and not result.created and not result.updated
    # …and into an empty hub it recreates the same resources
    from datong.catalog.models import DataItem, ResourceVersion

    with database.unit_of_work() as session:
        session.execute(DataItem.__table__.delete())
        session.execute(ResourceVersion.__table__.delete())
        session.execute(Resource.__table__.delete())
    with database.unit_of_work() as session:
        transfer.import_catalog(session, operator, filename=f"catalog.{fmt}", content=exported)
        resources, _ = service.search_resources(session)
        assert [service.snapshot(r) for r in resources] == before
        again = (transfer.export_workbook(resources) if fmt == "xlsx" else transfer.export_structured(resources, fmt))
    if fmt == "xlsx":
        rows = lambda b: list(load_workbook(io.BytesIO(b)).active.iter_rows(values_only=True))
        assert rows(again) == rows(exported)
    else:
        assert again == exported


def test_template_is_importable_once_the_provider_exists(database, operator, world):
    template = transfer.template_workbook()
    sheet = load_workbook(io.BytesIO(template)).active
    assert [c.value for c in sheet[2]] == transfer.HEADERS and sheet.data_validations.dataValidation
    problems: list = []
    parsed = transfer.read_workbook(template, problems)
    assert problems == [] and parsed[0].data["name"] == "户籍人口基本信息" and len(parsed[0].data["items"]) == 3


def test_yaml_problems_name_the_path(database, operator, world):
    document = b"resources:\n  - name: X\n    provider: " + DEPT_CODE.encode() + b"\n    sharing_type: unconditional\n"
    with pytest.raises(transfer.CatalogRejected) as rejected, database.unit_of_work() as session:
        transfer.import_catalog(session, operator, filename="c.yaml", content=document)
    where = {p.column for p in rejected.value.problems}
    assert {"update_cycle", "items"} <= where
