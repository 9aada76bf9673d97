"""The one window in the console, in real Chromium: a clerk opens a case for an applicant and sees
the form filled from the registry and the licence with each source, attaches the missing
material, accepts; the two departments review in parallel and the flow is drawn with the current
step marked; the result licence appears; the public progress page opens without signing in."""

import pytest
from playwright.sync_api import expect

from tests.licenses.conftest import library  # noqa: F401 - fixtures
from tests.registry.conftest import province  # noqa: F401
from tests.services.conftest import CERTIFICATE, window  # noqa: F401
from tests.web.test_console import sign_in

pytestmark = pytest.mark.console
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def test_intake_review_and_progress(page, live_server, window, tmp_path, browser):  # noqa: F811
    sign_in(page, live_server, "clerk1")
    page.goto(f"{live_server}/window")
    form = page.get_by_test_id("intake")
    form.locator("input[name=applicant]").fill(window["people"][1])
    form.locator("select[name=choice]").select_option(f"item:{CERTIFICATE}")
    form.locator("input[name=authorised]").check()
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("state")).to_have_attribute("data-state", "draft")
    expect(page.get_by_test_id("source-姓名")).to_contain_text("户籍人口基本信息")
    expect(page.get_by_test_id("source-配偶姓名")).to_contain_text("结婚证")
    expect(page.get_by_test_id("missing")).to_contain_text("户口簿")
    page.get_by_test_id("form").locator("input[name='f:联系地址']").fill("杭州市西湖区文三路1号")
    page.get_by_test_id("form").locator("button[type=submit]").click()
    scan = tmp_path / "hkb.png"
    scan.write_bytes(PNG)
    page.get_by_test_id("materials").locator("input[type=file]").set_input_files(str(scan))
    page.get_by_test_id("materials").locator("button[type=submit]").click()
    scan = page.request.get(live_server + page.get_by_test_id("attachment").get_attribute("href"))
    assert scan.ok and scan.body() == PNG
    page.get_by_test_id("accept").click()
    expect(page.get_by_test_id("state")).to_have_attribute("data-state", "in_review")
    number = page.get_by_test_id("number").inner_text()
    receipt = page.request.get(live_server + page.get_by_test_id("receipt").get_attribute("href"))
    assert receipt.ok and receipt.body().startswith(b"%PDF-")
    expect(page.get_by_test_id("flow").locator("svg").first).to_be_visible()
    expect(page.get_by_test_id("flow")).to_have_attribute("data-current", "review_1_1 review_1_2")
    expect(page.locator(".step-current")).to_have_count(2)

    decide = page.get_by_test_id("decide-review_1_2")  # 公安's own review, in parallel with 民政's
    decide.locator("button[type=submit]").click()
    expect(page.get_by_test_id("flow")).to_have_attribute("data-current", "review_1_1")
    track = page.get_by_test_id("track").get_attribute("href")
    reviewer = browser.new_context().new_page()
    sign_in(reviewer, live_server, "mzclerk")
    reviewer.goto(f"{live_server}/cases/{number}")
    reviewer.get_by_test_id("decide-review_1_1").locator("button[type=submit]").click()
    expect(reviewer.get_by_test_id("outcome")).to_have_text("已批准")
    expect(reviewer.get_by_test_id("result")).to_be_visible()

    visitor = browser.new_context(locale="en-US").new_page()
    visitor.goto(live_server + track[track.index("/track/"):])
    expect(visitor.get_by_test_id("progress")).to_have_attribute("data-state", "completed")
    visitor.goto(f"{live_server}/track/{number}?code=wrong")
    expect(visitor.get_by_test_id("progress")).to_have_count(0)
