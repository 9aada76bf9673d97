"""The citizen portal in real Chromium at a phone's width: sign in with the code sent to the
registry's phone, see who read my data and flag a read, apply online to an item decided
automatically and rate it, download my licence; the auditor answers the flag."""

import re

import pytest
from playwright.sync_api import expect

from datong.registry import service as registry
from tests.licenses.conftest import library  # noqa: F401 - fixtures
from tests.portal.conftest import PHONE
from tests.registry.conftest import province  # noqa: F401
from tests.services.conftest import ALLOWANCE, staff, window  # noqa: F401
from tests.web.conftest import patient
from tests.web.test_console import sign_in

pytestmark = pytest.mark.console
PHONE_SIZE = {"width": 390, "height": 844}


def portal_sign_in(page, live_server, app, id_number: str, phone: str) -> None:
    page.goto(f"{live_server}/me")
    expect(page).to_have_url(re.compile(r"/me/login$"))
    page.locator("input[name=id_number]").fill(id_number)
    page.locator("form button[type=submit]").click()
    expect(page.get_by_test_id("sent-to")).to_contain_text("138****")
    code = re.search(r"验证码为(\d{6})", app.state.sender.last_to(phone)).group(1)
    page.locator("input[name=code]").fill(code)
    page.locator("form button[type=submit]").click()
    expect(page.get_by_test_id("greeting")).to_contain_text("王建国")


def test_a_citizen_on_a_phone(browser, live_server, app, database, window):  # noqa: F811
    me = window["people"][1]
    with database.reading() as session:
        registry.read_subject(session, staff(session, "clerk1"), kind="person", key=me, purpose="核验户籍",
                              case_number="AJ-9")
    context = browser.new_context(locale="zh-CN", viewport=PHONE_SIZE, is_mobile=True, has_touch=True)
    page = context.new_page()
    patient(page)
    portal_sign_in(page, live_server, app, me, PHONE[1])
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_SIZE["width"]  # nothing wider than the phone

    page.goto(f"{live_server}/me/data-uses")
    use = page.get_by_test_id("use").filter(has_text="AJ-9")
    expect(use).to_contain_text("核验户籍")
    use.locator("summary").click()
    use.locator("textarea[name=reason]").fill("我那天没有去公安办事")
    use.locator("button[type=submit]").click()
    expect(page.get_by_role("status")).to_be_visible()
    expect(page.get_by_test_id("use").filter(has_text="AJ-9").get_by_test_id("flag-state")).to_be_visible()

    page.goto(f"{live_server}/me/cases")
    page.get_by_test_id(f"apply-{ALLOWANCE}").click()
    page.get_by_test_id("apply").click()
    expect(page.get_by_test_id("case-state")).to_have_attribute("data-state", "draft")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("case-state")).to_have_attribute("data-state", "delivered")  # decided by the rules
    page.locator("input[name=level][value='5']").check()
    page.get_by_test_id("rate").click()
    expect(page.get_by_test_id("rated")).to_be_visible()

    page.goto(f"{live_server}/me/licences")
    pdf = page.request.get(live_server + page.get_by_test_id("licence-pdf").first.get_attribute("href"))
    assert pdf.ok and pdf.body().startswith(b"%PDF-")
    page.goto(f"{live_server}/me/notices")
    expect(page.get_by_test_id("notice").first).to_be_visible()
    page.goto(f"{live_server}/locale/en")
    page.goto(f"{live_server}/me/data-uses")
    expect(page.locator("h1")).to_have_text("Who used my data")
    context.close()

    staff_page = browser.new_page()
    sign_in(staff_page, live_server, "aud")
    staff_page.goto(f"{live_server}/audit/flags")
    row = staff_page.get_by_test_id("flag").filter(has_text="我那天没有去公安办事")
    row.locator("input[name=finding]").fill("窗口人员为户籍核验查询，属正常办理")
    row.locator("button[type=submit]").click()
    expect(staff_page.get_by_test_id("flag")).to_have_count(0)
    staff_page.close()
