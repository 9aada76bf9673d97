"""The catalog in the console, in real Chromium: browse and search, a resource, register and edit,
Excel import with its error report, the dictionary and the 一数一源 table."""

import io
import re

import pytest
from openpyxl import Workbook, load_workbook
from playwright.sync_api import expect

from datong.catalog import service, sources, transfer
from datong.catalog.schemas import ResourceIn
from tests.helpers import DEPT_CODE, OTHER_CODE, resource_body
from tests.web.test_console import sign_in

pytestmark = pytest.mark.console


@pytest.fixture
def catalog(database, operator, world):
    bodies = [
        resource_body(DEPT_CODE, name="人口基本信息"),
        resource_body(DEPT_CODE, name="户籍人口统计", sharing_type="unconditional", open_type="open"),
        resource_body(OTHER_CODE, name="道路运输许可", summary="道路运输经营许可", theme="交通", keywords=["运输"],
                      items=[{"name": "统一社会信用代码", "element": "DE0010", "key": "entity"},
                             {"name": "许可证号", "note": "本厅编号规则"}]),
    ]
    with database.unit_of_work() as session:
        return [service.create_resource(session, operator, data=ResourceIn.model_validate(b)).code for b in bodies]


def test_search_the_catalog_and_read_a_resource(page, live_server, catalog):
    sign_in(page, live_server, "clerk1")
    page.click("nav >> text=资源目录")
    expect(page.get_by_test_id("resources").locator("tbody tr")).to_have_count(3)
    page.get_by_test_id("search").fill("人口")  # htmx searches as the user types
    expect(page.get_by_test_id("resources").locator("tbody tr")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"q=%E4%BA%BA%E5%8F%A3"))
    expect(page.get_by_test_id("resources")).not_to_contain_text("道路运输许可")

    page.get_by_role("link", name="人口基本信息").click()
    expect(page.get_by_test_id("resource-name")).to_have_text("人口基本信息")
    expect(page.get_by_test_id("resource-code")).to_have_text(catalog[0])
    expect(page.get_by_test_id("sharing-type")).to_contain_text("有条件共享")
    expect(page.get_by_test_id("attached")).to_have_text("未挂接：尚未归集数据")
    items = page.get_by_test_id("items")
    expect(items.locator("tbody tr")).to_have_count(3)
    expect(items.locator("tbody tr").first).to_contain_text("公民身份号码")
    expect(items.locator("tbody tr").first).to_contain_text("高度敏感个人信息")
    expect(page.get_by_test_id("history")).to_contain_text("新建")
    expect(page.get_by_test_id("edit")).to_have_count(0)  # a clerk reads, the provider edits


def test_a_provider_registers_then_edits_a_resource(page, live_server, world, tmp_path):
    sign_in(page, live_server, "dadmin")
    page.goto(f"{live_server}/catalog")
    page.click("text=登记信息资源")
    page.fill("input[name=name]", "居民死亡信息")
    page.select_option("select[name=sharing_type]", "conditional")
    page.fill("input[name=sharing_condition]", "办理养老待遇核查")
    page.select_option("select[name=update_cycle]", "daily")
    page.fill("input[name=items-0-name]", "公民身份号码")
    page.select_option("select[name=items-0-element]", "DE0001")
    page.select_option("select[name=items-0-key]", "person")
    page.fill("input[name=items-1-name]", "死亡日期")
    page.select_option("select[name=items-1-element]", "DE0017")
    for _ in range(2):
        page.get_by_test_id("add-row").click()
    expect(page.locator(".items-form tbody tr")).to_have_count(5)
    page.fill("input[name=items-4-name]", "火化地点")  # non-standard, and no note yet
    page.select_option("select[name=items-4-data_type]", "date")
    page.click("form.card button[type=submit]")
    expect(page.get_by_test_id("error")).to_contain_text("非标准")
    expect(page.locator("input[name=items-2-name]")).to_have_value("火化地点")  # kept, compacted
    expect(page.locator("select[name=items-2-data_type]")).to_have_value("date")  # and so is its type
    page.fill("input[name=items-2-note]", "殡葬管理系统自有字段")
    page.click("form.card button[type=submit]")

    expect(page.get_by_test_id("resource-name")).to_have_text("居民死亡信息")
    expect(page.get_by_test_id("items")).to_contain_text("火化地点")
    page.screenshot(path=str(tmp_path / "resource.png"), full_page=True)
    page.get_by_test_id("edit").click()
    page.fill("input[name=name]", "居民死亡登记信息")
    page.click("form.card button[type=submit]")
    expect(page.get_by_test_id("resource-name")).to_have_text("居民死亡登记信息")
    history = page.get_by_test_id("history").locator("tbody tr")
    expect(history).to_have_count(2)
    expect(page.get_by_test_id("history")).to_contain_text("name")


def _workbook(rows: list[dict]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "公安厅"
    sheet.append(["测试省公安厅政务信息资源目录"])
    sheet.append(transfer.HEADERS)
    for values in rows:
        sheet.append([values.get(h) for h in transfer.HEADERS])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_excel_import_shows_every_problem_then_imports(page, live_server, world, tmp_path, database):
    sign_in(page, live_server, "dadmin")
    page.goto(f"{live_server}/catalog/import")
    with page.expect_download() as download:
        page.get_by_test_id("template").click()
    template = tmp_path / "template.xlsx"
    download.value.save_as(template)
    assert [c.value for c in load_workbook(template).worksheets[0][2]][: len(transfer.HEADERS)] == transfer.HEADERS

    first = {"信息资源名称": "出入境证件信息", "提供方代码": DEPT_CODE, "共享类型": "有条件共享",
             "共享条件": "核验出入境证件", "开放类型": "不予开放",
             "更新周期": "每日", "信息项名称": "公民身份号码", "数据元标识符": "DE0001", "主键": "公民身份号码"}
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(_workbook([{**first, "更新周期": "偶尔"}, {"信息项名称": "证件号码", "数据元标识符": "DE7777"}]))
    page.set_input_files("input[name=file]", str(bad))
    page.click("form.card button[type=submit]")
    problems = page.get_by_test_id("problems").locator("tbody tr")
    expect(problems).to_have_count(2)
    expect(problems.nth(0)).to_contain_text("公安厅")
    expect(problems.filter(has_text="更新周期")).to_contain_text("3")
    expect(problems.filter(has_text="DE7777")).to_contain_text("4")

    good = tmp_path / "good.xlsx"
    good.write_bytes(_workbook([first, {"信息项名称": "证件号码", "数据类型": "字符型", "说明": "出入境证件编号"}]))
    page.set_input_files("input[name=file]", str(good))
    page.click("form.card button[type=submit]")
    preview = page.get_by_test_id("preview")  # checked and shown, not yet imported
    expect(preview.locator("tr[data-change=create]")).to_contain_text("出入境证件信息")
    with database.reading() as session:
        assert not service.search_resources(session, q="出入境")[0]
    preview.get_by_test_id("confirm-import").click()
    expect(page.get_by_test_id("imported")).to_contain_text("新建 1")
    page.click("main ul a")
    expect(page.get_by_test_id("resource-name")).to_have_text("出入境证件信息")
    expect(page.get_by_test_id("items").locator("tbody tr")).to_have_count(2)

    changed = tmp_path / "changed.xlsx"  # the same file again, one description changed: an update
    changed.write_bytes(_workbook([first, {"信息项名称": "证件号码", "数据类型": "字符型", "说明": "护照或通行证编号"}]))
    page.goto(f"{live_server}/catalog/import")
    page.set_input_files("input[name=file]", str(changed))
    page.click("form.card button[type=submit]")
    expect(page.get_by_test_id("preview").locator("tr[data-change=update]")).to_contain_text("items")
    expect(page.get_by_test_id("preview").locator("tr[data-change=create]")).to_have_count(0)
    page.get_by_test_id("confirm-import").click()
    expect(page.get_by_test_id("imported")).to_contain_text("更新 1")
    with database.reading() as session:
        assert len(service.search_resources(session, q="出入境")[0]) == 1  # no duplicate


def test_dictionary_and_a_conflict_the_bureau_resolves(page, live_server, database, operator, catalog):
    with database.unit_of_work() as session:
        sources.claim_source(session, operator, element="DE0004", department=DEPT_CODE)
        sources.claim_source(session, operator, element="DE0004", department=OTHER_CODE)
    sign_in(page, live_server, "boss")
    page.goto(f"{live_server}/catalog/elements")
    expect(page.get_by_test_id("elements")).to_contain_text("公民身份号码")
    page.fill("form.filters input[name=q]", "信用")
    page.click("form.filters button")
    expect(page.get_by_test_id("elements").locator("tbody tr")).to_have_count(1)

    page.click("nav.tabs >> text=一数一源")
    rows = page.get_by_test_id("sources").locator("tbody tr")
    expect(rows.filter(has_text="冲突：待大数据局裁定")).to_have_count(1)
    conflict = rows.filter(has_text="测试省民政厅")
    conflict.locator("input[name=reason]").fill("民政厅为出生医学证明之外的法定登记机关")
    conflict.locator("button").click()
    expect(page.get_by_role("status")).to_have_text("已记录裁定。")
    expect(rows.filter(has_text="测试省民政厅")).to_contain_text("权威来源")
    expect(rows.filter(has_text="测试省公安厅")).to_contain_text("已驳回")
    expect(rows.filter(has_text="冲突")).to_have_count(0)


def test_form_errors_name_the_item_by_its_row_and_name():
    from datong.errors import InvalidInput
    from datong.web.catalog_pages import _validated
    from tests.helpers import DEPT_CODE, resource_body

    body = resource_body(DEPT_CODE)
    body["items"][1]["length"] = 0  # 姓名, the second row of the form
    with pytest.raises(InvalidInput) as error:
        _validated(body)
    assert "信息项第 2 行（姓名）的 length" in error.value.localised("zh-CN")
    assert "data item row 2 (姓名), length" in error.value.localised("en")
