"""Sharing in the console, in real Chromium: a consumer asks, the provider approves, then revokes."""

import pytest
from playwright.sync_api import expect

from datong.security import service as identity
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
    page.select_option("[data-testid=request-resource]", shared["code"])
    page.click("form.filters button")
    page.check("input[name=items][value=姓名]")
    page.check("input[name=items][value=住址]")
    page.fill("input[name=purpose]", "低保资格核查")
    page.fill("input[name=legal_basis]", "《社会救助暂行办法》")
    page.click("form.card button[type=submit]")
    expect(page.get_by_test_id("created")).to_contain_text("待提供部门审批")
    expect(page.get_by_test_id("requests")).to_contain_text("待提供部门审批")

    page.context.clear_cookies()
    sign_in(page, live_server, "dadmin")
    page.goto(f"{live_server}/share")
    row = page.get_by_test_id("requests").locator("tbody tr").filter(has_text="低保资格核查")
    row.get_by_test_id("approve").click()
    expect(page.get_by_test_id("decided")).to_be_visible()
    expect(page.get_by_test_id("requests").locator("tbody tr").filter(has_text="低保资格核查")).to_contain_text("已批准")
    page.click("nav.tabs >> text=授权")
    grant = page.get_by_test_id("grants").locator("tbody tr").filter(has_text="姓名、住址")
    expect(grant).to_contain_text("有效")
    grant.locator("input[name=reason]").fill("核查结束")
    grant.get_by_test_id("revoke").click()
    expect(page.get_by_test_id("revoked")).to_be_visible()
    expect(page.get_by_test_id("grants").locator("tbody tr").filter(has_text="姓名、住址")).to_contain_text("已撤销")


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
    expect(rows.first).to_contain_text("share.read")
    expect(rows.first).to_contain_text("低保资格核查 (MZ-7)")
    expect(rows.first).to_contain_text(OTHER_CODE)
