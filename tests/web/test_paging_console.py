"""Console lists page and search, in real Chromium: an administrator walks a long list of
accounts, and finds one by typing."""

import pytest
from playwright.sync_api import expect

from datong.security import service
from tests.helpers import DEPT_CODE, PASSWORD
from tests.web.test_console import sign_in

pytestmark = pytest.mark.console


@pytest.fixture
def many_accounts(database, operator, world):
    with database.unit_of_work() as session:
        for n in range(55):
            service.create_user(session, operator, username=f"window{n:02d}", display_name=f"窗口{n:02d}",
                                department_code=DEPT_CODE, roles=["clerk"], password=PASSWORD)
    return 55 + 6  # and the six accounts every test has


def test_an_administrator_pages_through_accounts_and_searches(page, live_server, many_accounts):
    sign_in(page, live_server, "sys")
    page.goto(f"{live_server}/users")
    rows = page.get_by_test_id("users").locator("tbody tr")
    expect(rows).to_have_count(50)
    expect(page.get_by_test_id("shown")).to_have_text(f"第 1–50 条，共 {many_accounts} 条")
    expect(page.get_by_test_id("previous")).to_have_count(0)
    page.get_by_test_id("next").click()
    expect(rows).to_have_count(many_accounts - 50)
    expect(page.get_by_test_id("shown")).to_have_text(f"第 51–{many_accounts} 条，共 {many_accounts} 条")
    expect(page.get_by_test_id("next")).to_have_count(0)
    page.get_by_test_id("previous").click()
    expect(rows).to_have_count(50)
    page.get_by_test_id("list-search").fill("窗口 07")  # typing searches, without a click
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("window07")
    assert "q=" in page.url  # the search is in the address, to bookmark or send
    page.get_by_test_id("list-search").fill("nobody-like-this")
    expect(rows.first).to_contain_text("没有匹配的条目")


def test_a_list_counted_only_past_its_page_says_more_than(page, live_server, many_accounts, monkeypatch):
    """Past ``COUNT_UP_TO`` rows beyond the page the count stops: the page says "52+" and still
    offers the next page, whose count reaches the end and is exact."""
    from datong.db import paging

    monkeypatch.setattr(paging, "COUNT_UP_TO", 2)
    sign_in(page, live_server, "sys")
    page.goto(f"{live_server}/users")
    expect(page.get_by_test_id("shown")).to_have_text("第 1–50 条，共 52+ 条")
    page.get_by_test_id("next").click()
    expect(page.get_by_test_id("users").locator("tbody tr")).to_have_count(many_accounts - 50)
    expect(page.get_by_test_id("shown")).to_have_text(f"第 51–{many_accounts} 条，共 {many_accounts} 条")
