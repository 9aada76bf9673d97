"""The open-data portal in real Chromium: a department publishes (its personal records refused,
their statistics published), a visitor on a phone finds, previews and downloads a dataset and
applies for a key, and the bureau approves it (the key shown once)."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.opendata.conftest import open_world  # noqa: F401 - fixtures
from tests.web.conftest import patient
from tests.web.test_console import sign_in

pytestmark = pytest.mark.console
PHONE_SIZE = {"width": 390, "height": 844}


def test_publish_browse_download_and_apply_for_a_key(browser, live_server, database, open_world):  # noqa: F811
    database.sessions.kw["info"]["public_url"] = live_server  # the links the pages and DCAT give
    staff = browser.new_context(locale="zh-CN")
    page = staff.new_page()
    patient(page)
    sign_in(page, live_server, "dadmin")
    page.get_by_role("link", name="数据开放").click()
    expect(page).to_have_url(re.compile(r"/opendata$"))
    page.locator("select[name=resource]").select_option(open_world["codes"]["people"])
    page.get_by_role("button", name="开放", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("公民身份号码")  # records with personal data: refused
    expect(page.get_by_role("alert")).to_contain_text("统计数据")
    page.locator("select[name=resource]").select_option(open_world["codes"]["people"])
    page.locator("select[name=kind]").select_option("statistics")
    page.get_by_role("button", name="开放", exact=True).click()
    expect(page.locator("h1")).to_have_text("常住人口信息（统计）")
    expect(page.get_by_test_id("preview")).to_contain_text("年龄段")
    for resource in ("companies", "permits"):
        page.goto(f"{live_server}/opendata")
        page.locator("select[name=resource]").select_option(open_world["codes"][resource])
        page.locator("input[name=contact_email]").fill("data@example.gov.cn")
        page.get_by_role("button", name="开放", exact=True).click()
        expect(page.get_by_test_id("score")).to_contain_text("/ 405")

    visitor = browser.new_context(locale="zh-CN", viewport=PHONE_SIZE, is_mobile=True, has_touch=True,
                                  accept_downloads=True)
    phone = visitor.new_page()
    patient(phone)
    phone.goto(f"{live_server}/open")
    expect(phone.get_by_test_id("datasets").locator("li")).to_have_count(3)
    phone.locator("input[name=q]").fill("许可")
    phone.get_by_role("button", name="搜索").click()
    expect(phone.get_by_test_id("datasets").locator("li")).to_have_count(1)
    phone.goto(f"{live_server}/open")
    phone.get_by_role("link", name="企业名录", exact=True).click()
    expect(phone.get_by_test_id("preview").locator("tbody tr")).to_have_count(10)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE_SIZE["width"]
    with phone.expect_download() as download:
        phone.get_by_test_id("downloads").get_by_role("link", name="CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0] == "统一社会信用代码,单位名称,成立日期,所在地行政区划代码"
    assert len(text.splitlines()) == 13
    expect(phone.locator("[data-testid=score-chart] svg")).to_be_visible()  # ECharts drew the dimensions

    phone.goto(f"{live_server}/open")
    phone.get_by_role("link", name="许可企业名录").click()
    expect(phone.get_by_test_id("key-needed")).to_be_visible()
    phone.get_by_test_id("key-needed").get_by_role("link").click()
    phone.locator("input[name=applicant]").fill("李研究")
    phone.locator("input[name=email]").fill("li@example.edu.cn")
    phone.locator("textarea[name=purpose]").fill("研究许可企业的地域分布")
    phone.get_by_role("button", name="提交申请").click()
    expect(phone.get_by_test_id("applied")).to_be_visible()

    bureau = browser.new_context(locale="zh-CN").new_page()
    patient(bureau)
    sign_in(bureau, live_server, "boss")
    bureau.goto(f"{live_server}/opendata")
    row = bureau.get_by_test_id("applications").locator("tr").filter(has_text="李研究")
    row.get_by_role("button", name="批准", exact=True).click()
    key = bureau.get_by_test_id("new-key").inner_text()
    assert key.startswith("dtk_")
    answer = bureau.request.get(f"{live_server}/api/v1/open/datasets/{open_world['codes']['permits'].replace('/', '-')}"
                                f"/records", headers={"X-Api-Key": key})
    assert answer.status == 200 and answer.json()["total"] == 6
    bureau.reload()
    assert key not in bureau.content()  # shown once
