"""Sharing in the console, in real Chromium: a consumer asks, the provider approves, then revokes."""

import pytest
from playwright.sync_api import expect

from sqlalchemy import select

from datong.security import service as identity
from datong.sharing.models import Grant, ShareRequest
from tests.helpers import OTHER_CODE, PASSWORD
from tests.sharing.test_sharing import shared  # noqa: F401
from tests.web.test_console import sign_in

pytestmark = pytest.mark.console


def test_request_approve_and_revoke_in_the_console(page, live_server, shared, database, operator):
    with database.unit_of_work() as session:
        identity.create_user(session, operator, username="mzsteward", display_name="民政数据管理员",
                             department_code=OTHER_CODE, roles=["data_steward"], password=PASSWORD)
    sign_in(page, live_server, "mzsteward")
    page.click("nav >> text=数据共享")
    page.get_by_test_id("request-search").fill("常住人口")  # htmx narrows the list as one types
    found = page.get_by_test_id("requestable").locator("tbody tr")
    expect(found).to_have_count(1)
    expect(found.first).to_contain_text("常住人口信息")
    found.first.get_by_test_id("request-this").click()
    page.check("input[name=items][value=姓名]")
    page.check("input[name=items][value=住址]")
    page.check("input[name=items][value=公民身份号码]")
    page.fill("input[name=purpose]", "低保资格核查")
    page.fill("input[name=legal_basis]", "《社会救助暂行办法》")
    page.click("form.card button[type=submit]")
    expect(page.get_by_test_id("created")).to_contain_text("待提供部门审批")
    expect(page.get_by_test_id("requests")).to_contain_text("待提供部门审批")

    page.context.clear_cookies()
    sign_in(page, live_server, "dadmin")
    page.goto(f"{live_server}/share")
    row = page.get_by_test_id("requests").locator("tbody tr").filter(has_text="低保资格核查")
    row.get_by_test_id("review").click()
    detail = page.get_by_test_id("request-detail")
    expect(detail).to_contain_text("mzsteward")
    expect(page.get_by_test_id("legal-basis")).to_have_text("《社会救助暂行办法》")
    form = page.get_by_test_id("decision-form")
    form.locator("tr[data-item=住址] input[name=items]").uncheck()  # the provider narrows the grant
    form.locator("tr[data-item=姓名] input[name=plain_items]").check()
    form.locator("tr[data-item=公民身份号码] input[name=plain_items]").uncheck()
    form.locator("input[name=days]").fill("30")
    form.get_by_test_id("approve").click()
    confirm = page.get_by_test_id("confirm")  # nothing is decided before the confirmation
    expect(confirm).to_contain_text("30")
    expect(confirm.locator("li")).to_have_count(2)
    expect(confirm.locator("li").filter(has_text="姓名")).to_contain_text("明文")
    expect(confirm.locator("li").filter(has_text="公民身份号码")).to_contain_text("脱敏")
    with database.reading() as session:
        assert session.scalar(select(ShareRequest.status).where(ShareRequest.purpose == "低保资格核查")) == "pending"
    confirm.get_by_test_id("confirm-decision").click()
    expect(page.get_by_test_id("decided")).to_be_visible()
    expect(page.get_by_test_id("requests").locator("tbody tr").filter(has_text="低保资格核查")).to_contain_text("已批准")
    with database.reading() as session:
        grant = session.scalar(select(Grant).join(ShareRequest).where(ShareRequest.purpose == "低保资格核查"))
        assert sorted(grant.items) == sorted(["姓名", "公民身份号码"]) and grant.plain_items == ["姓名"]
        assert (grant.valid_until - grant.valid_from).days == 30
    page.click("nav.tabs >> text=授权")
    grant_row = page.get_by_test_id("grants").locator("tbody tr").filter(has_text="公民身份号码、姓名")
    expect(grant_row).to_contain_text("有效")
    grant_row.locator("input[name=reason]").fill("核查结束")
    grant_row.get_by_test_id("revoke").click()
    expect(page.get_by_test_id("revoked")).to_be_visible()
    expect(page.get_by_test_id("grants").locator("tbody tr").filter(has_text="公民身份号码、姓名")).to_contain_text("已撤销")


def test_the_resource_page_offers_sharing_only_where_it_can_be_asked(page, live_server, shared, database, operator):
    with database.unit_of_work() as session:
        identity.create_user(session, operator, username="mzclerk2", display_name="民政窗口",
                             department_code=OTHER_CODE, roles=["clerk"], password=PASSWORD)
    sign_in(page, live_server, "mzclerk2")
    page.goto(f"{live_server}/catalog/r/{shared['code']}")
    page.get_by_test_id("request-share").click()
    expect(page.locator("h1")).to_contain_text("常住人口信息")
    expect(page.locator("input[name=resource]")).to_have_value(shared["code"])
    page.goto(f"{live_server}/catalog/r/{shared['closed']}")  # 不予共享: nothing to ask for
    expect(page.get_by_test_id("resource-name")).to_be_visible()
    expect(page.get_by_test_id("request-share")).to_have_count(0)
    page.goto(f"{live_server}/share/new?resource=999/999999")  # a missing resource: the list, with a message
    expect(page.get_by_test_id("error")).to_contain_text("999/999999")
    expect(page.get_by_test_id("requestable")).to_be_visible()
    page.goto(f"{live_server}/share/new")
    expect(page).to_have_url(f"{live_server}/share")


def test_a_rejection_needs_a_reason_and_a_confirmation(page, live_server, shared, client, database):
    from tests.sharing.test_sharing import ask

    request_id = ask(client, shared["system"], shared["code"], ["姓名"]).json()["id"]
    sign_in(page, live_server, "dadmin")
    page.goto(f"{live_server}/share/requests/{request_id}")
    page.get_by_test_id("reject").click()
    expect(page.get_by_test_id("error")).to_contain_text("驳回")
    page.locator("input[name=reason]").fill("用途与法定依据不符")
    page.get_by_test_id("reject").click()
    expect(page.get_by_test_id("confirm")).to_contain_text("用途与法定依据不符")
    page.get_by_test_id("confirm-decision").click()
    expect(page.get_by_test_id("decided")).to_be_visible()
    with database.reading() as session:
        assert session.get(ShareRequest, request_id).status == "rejected"


def test_a_refused_request_says_why(page, live_server, shared, database, operator):
    with database.unit_of_work() as session:
        identity.create_user(session, operator, username="mzclerk", display_name="民政窗口",
                             department_code=OTHER_CODE, roles=["clerk"], password=PASSWORD)
    sign_in(page, live_server, "mzclerk")
    page.goto(f"{live_server}/share/new?resource={shared['closed']}")
    page.check("input[name=items][value=姓名]")
    page.fill("input[name=purpose]", "核查")
    page.fill("input[name=legal_basis]", "无")
    page.click("form.card button[type=submit]")
    expect(page.get_by_test_id("error")).to_contain_text("涉及国家安全")


def test_an_auditor_answers_who_looked_at_my_data(page, live_server, shared, client):
    from urllib.parse import quote

    from tests.sharing.test_sharing import ask

    ask(client, shared["system"], shared["open"], ["姓名"])
    person = shared["rows"][2][0]
    client.get(f"/api/v1/share/{shared['open']}/records/{person}",
               headers={**shared["system"], "X-Purpose": quote("低保资格核查"), "X-Case-No": "MZ-7"})
    sign_in(page, live_server, "aud")
    page.goto(f"{live_server}/audit")
    page.fill("input[name=subject]", person)
    page.click("form.filters button")
    rows = page.get_by_test_id("events").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("读取共享数据")  # the action in words, the code in its title
    expect(rows.first).to_contain_text("低保资格核查 (MZ-7)")
    expect(rows.first).to_contain_text("测试省民政厅")  # the department by name
    expect(rows.first).to_contain_text("社会救助系统")  # the system by name
    expect(rows.first).to_contain_text("人口统计")  # the resource by name


def test_the_auditor_filters_reads_an_event_in_full_and_exports(page, live_server, shared, client, tmp_path):
    from urllib.parse import quote

    from openpyxl import load_workbook

    from tests.sharing.test_sharing import ask

    ask(client, shared["system"], shared["open"], ["姓名"])
    person = shared["rows"][1][0]
    read = {**shared["system"], "X-Purpose": quote("低保资格核查"), "X-Case-No": "MZ-8"}
    client.get(f"/api/v1/share/{shared['open']}/records/{person}", headers=read)
    client.get(f"/api/v1/share/{shared['code']}/records/{person}", headers=read)  # no grant: refused
    sign_in(page, live_server, "aud")
    page.goto(f"{live_server}/audit")
    filters = page.get_by_test_id("audit-filters")
    filters.locator("select[name=department]").select_option(label="测试省民政厅")
    filters.locator("select[name=outcome]").select_option("denied")
    filters.locator("input[name=since]").fill("2020-01-01")
    filters.locator("button").click()
    rows = page.get_by_test_id("events").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("拒绝")
    expect(rows.first).to_contain_text("常住人口信息")
    filters = page.get_by_test_id("audit-filters")
    filters.locator("select[name=outcome]").select_option("success")
    filters.locator("select[name=action]").select_option("share.read")
    filters.locator("button").click()
    expect(rows).to_have_count(1)
    rows.first.locator("a").first.click()
    detail = page.get_by_test_id("event-detail")
    expect(page.get_by_test_id("subjects")).to_contain_text(person)
    expect(page.get_by_test_id("chain-position")).to_contain_text("SM3")
    expect(page.get_by_test_id("detail")).to_contain_text('"grant"')
    expect(detail).to_contain_text("MZ-8")

    page.goto(f"{live_server}/audit?department={OTHER_CODE}")
    with page.expect_download() as download:
        page.get_by_test_id("export-xlsx").click()
    saved = tmp_path / "audit.xlsx"
    download.value.save_as(saved)
    sheet = list(load_workbook(saved).active.iter_rows(values_only=True))
    assert sheet[0][0] == "序号" and "Asia/Shanghai" in sheet[0][1]
    actions = {r[4] for r in sheet[1:]}
    assert "读取共享数据" in actions and all(r[3] == "测试省民政厅" for r in sheet[1:])
    page.goto(f"{live_server}/audit?action=audit.export")  # the export is itself in the log
    expect(page.get_by_test_id("events").locator("tbody tr").first).to_contain_text("导出审计日志")
