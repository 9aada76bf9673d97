"""Lifecycle in the console, in real Chromium: an account disabled and its password reset, a
system's secret renewed, a resource withdrawn."""

import pytest
from playwright.sync_api import expect

from tests.sharing.test_sharing import ask, shared  # noqa: F401
from tests.web.test_console import sign_in

pytestmark = pytest.mark.console


def test_an_administrator_disables_an_account_and_resets_a_password(page, live_server, world):
    sign_in(page, live_server, "boss")
    page.goto(f"{live_server}/users")
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations
    row = page.get_by_test_id("users").locator("tr[data-user=clerk1]")
    row.locator("input[name=reason]").fill("调离岗位")
    row.get_by_test_id("user-state").click()
    expect(page.get_by_test_id("changed")).to_contain_text("clerk1")
    expect(page.get_by_test_id("users").locator("tr[data-user=clerk1]")).to_contain_text("已停用")
    page.get_by_test_id("users").locator("tr[data-user=dadmin]").get_by_test_id("reset-password").click()
    password = page.get_by_test_id("password").inner_text()
    assert len(password) == 16
    page.context.clear_cookies()
    sign_in(page, live_server, "clerk1")  # disabled: refused
    expect(page.get_by_role("alert")).to_contain_text("停用")
    page.context.clear_cookies()
    sign_in(page, live_server, "dadmin", password)
    expect(page.get_by_test_id("worklist")).to_be_visible()


def test_a_provider_withdraws_a_resource(page, live_server, shared, client):
    ask(client, shared["system"], shared["open"], ["姓名"])  # granted at once (无条件共享)
    sign_in(page, live_server, "dadmin")
    page.goto(f"{live_server}/catalog/r/{shared['open']}")
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("details.card summary").click()
    page.get_by_test_id("withdraw-reason").fill("数据源停用")
    page.get_by_test_id("withdraw").click()
    expect(page.get_by_test_id("withdrawn")).to_contain_text("数据源停用")
    page.goto(f"{live_server}/share/grants")
    row = page.get_by_test_id("grants").locator("tbody tr").filter(has_text="人口统计")
    expect(row).to_contain_text("已撤销")
