"""Loading and quality in the console, in real Chromium: upload with progress, download the
rejected rows, the dashboard's charts and the rectification inbox."""

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from datong.catalog import service
from datong.catalog.schemas import ResourceIn
from tests.helpers import DEPT_CODE, POPULATION_HEADER, POPULATION_ITEMS, population_rows, resource_body
from tests.ingest.conftest import write_csv
from tests.web.test_console import sign_in

pytestmark = pytest.mark.console


@pytest.fixture
def population(database, operator, world) -> str:
    body = resource_body(DEPT_CODE, name="常住人口信息", items=POPULATION_ITEMS)
    with database.unit_of_work() as session:
        return service.create_resource(session, operator, data=ResourceIn.model_validate(body)).code


def test_upload_see_progress_and_the_result_then_fix_the_issue(page, live_server, population, tmp_path):
    rows = population_rows(3000)
    rows[10][3] = "1990-02-30"
    rows[20][0] = rows[20][0][:-1] + ("0" if rows[20][0][-1] != "0" else "1")
    path = write_csv(tmp_path / "人口.csv", POPULATION_HEADER, rows, encoding="gbk")

    sign_in(page, live_server, "dadmin")
    page.goto(f"{live_server}/catalog/r/{population}")
    page.get_by_test_id("loads").click()
    page.set_input_files("input[name=file]", str(path))
    page.click("[data-testid=load-form] button[type=submit]")
    expect(page.get_by_test_id("job-done")).to_contain_text("读取 3000 行，拒绝 2 行，新增 2998", timeout=30000)
    with page.expect_download() as download:
        page.get_by_test_id("rejections").click()
    saved = tmp_path / "rejected.xlsx"
    download.value.save_as(saved)
    book = load_workbook(saved)
    reported = [r for r in book.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert {(r[0], r[1]) for r in reported} == {(12, "出生日期"), (22, "公民身份号码")}
    as_read = list(book.worksheets[1].iter_rows(values_only=True))  # the rows to fix and load again
    assert list(as_read[0]) == POPULATION_HEADER and [r[3] for r in as_read[1:]] == ["1990-02-30", rows[20][3]]

    # the history refreshed by itself when the load ended
    expect(page.get_by_test_id("load-history").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("load-history")).to_contain_text("已提交")

    few = write_csv(tmp_path / "少量.csv", POPULATION_HEADER, rows[:100])  # most records would go
    page.set_input_files("input[name=file]", str(few))
    page.click("[data-testid=load-form] button[type=submit]")
    expect(page.get_by_test_id("job-error")).to_contain_text("--allow-deletes", timeout=30000)
    page.set_input_files("input[name=file]", str(few))
    page.check("[data-testid=allow-deletes]")
    page.click("[data-testid=load-form] button[type=submit]")
    expect(page.get_by_test_id("job-done")).to_contain_text("删除 2900", timeout=30000)
    expect(page.get_by_test_id("load-history").locator("tbody tr")).to_have_count(3)

    page.reload()
    expect(page.get_by_test_id("load-history").locator("tbody tr")).to_have_count(3)
    expect(page.get_by_test_id("score-chart").locator("svg")).to_have_count(1)

    page.click("nav >> text=数据质量")
    expect(page.get_by_test_id("department-scores")).to_contain_text("测试省公安厅")
    expect(page.get_by_test_id("department-chart").locator("svg")).to_have_count(1)
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    page.click("nav.tabs >> text=整改")
    issues = page.get_by_test_id("issues").locator("tbody tr")
    expect(issues).to_have_count(2)
    date_issue = issues.filter(has_text="出生日期")
    expect(date_issue).to_contain_text("1990-02-30")
    date_issue.get_by_test_id("move-rectifying").click()
    expect(page.get_by_test_id("moved")).to_be_visible()
    page.get_by_test_id("issues").locator("tbody tr").filter(has_text="出生日期").get_by_test_id("move-rechecking").click()
    expect(page.get_by_test_id("issues").locator("tbody tr").filter(has_text="出生日期")).to_contain_text("待复核")
    page.screenshot(path=str(tmp_path / "issues.png"), full_page=True)


def test_a_file_that_cannot_be_read_says_why_and_loads_nothing(page, live_server, population, tmp_path):
    path = tmp_path / "坏文件.csv"
    path.write_bytes("公民身份号码,姓名,性别代码,出生日期,住址\n".encode() + b"\xff\xfe\xfa,1,2,3,4\n")
    sign_in(page, live_server, "dadmin")
    page.goto(f"{live_server}/catalog/r/{population}/loads")
    page.set_input_files("input[name=file]", str(path))
    page.select_option("select[name=encoding]", "utf-8")
    page.click("[data-testid=load-form] button[type=submit]")
    expect(page.get_by_test_id("job-error")).to_contain_text("第 2 行", timeout=30000)
    page.reload()
    expect(page.get_by_test_id("load-history")).to_contain_text("失败：未写入数据")
