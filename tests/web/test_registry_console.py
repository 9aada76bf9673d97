"""The registries in the console, in real Chromium: statistics with charts, the review queue,
and a profile read under a grant with a purpose."""

from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from datong.registry.flows import run_build
from tests.registry.conftest import province  # noqa: F401 - fixture
from tests.registry.test_registry import _granted
from tests.web.test_console import sign_in

pytestmark = pytest.mark.console


def test_statistics_review_and_profile(page, browser, live_server, database, operator, province, client,  # noqa: F811
                                       login):
    run_build(database, operator, kind="person")
    run_build(database, operator, kind="entity")
    sign_in(page, live_server, "boss")
    page.goto(f"{live_server}/registry")
    expect(page.get_by_test_id("subjects-person")).to_have_text("8")
    expect(page.get_by_test_id("subjects-entity")).to_have_text("3")
    expect(page.get_by_test_id("coverage-chart-person").locator("svg")).to_be_visible()
    expect(page.get_by_test_id("sources-person")).to_contain_text("最低生活保障对象信息")

    page.goto(f"{live_server}/registry/reviews")
    reviews = page.locator("article.review")
    expect(reviews).to_have_count(2)
    expect(reviews.first).to_contain_text("孙伟")
    reviews.first.get_by_test_id("different").click()
    expect(page.get_by_test_id("decided")).to_be_visible()
    expect(page.locator("article.review")).to_have_count(1)

    _granted(client, login, province, ["公民身份号码", "姓名", "出生日期", "住址"])
    page = browser.new_context(locale="en-US").new_page()
    sign_in(page, live_server, "dadmin")
    person = province["people"][1]
    page.goto(f"{live_server}/registry/profile?key={person}")
    expect(page.get_by_test_id("profile-form")).to_be_visible()
    expect(page.get_by_test_id("profile-attributes")).to_have_count(0)  # no purpose, nothing read
    page.goto(f"{live_server}/registry/profile?key={person}&purpose={quote('核对低保对象身份')}&case=MZ1")
    attributes = page.get_by_test_id("profile-attributes")
    expect(attributes).to_contain_text("王建国")
    expect(attributes).to_contain_text("测试省公安厅")
    expect(attributes.locator(".conflict")).to_contain_text("王建")  # disagrees with 公安
    expect(attributes).not_to_contain_text("性别代码")  # not granted

    page.goto(f"{live_server}/registry/profile?key={province['people'][3]}&purpose=x")
    expect(page.get_by_test_id("profile-attributes")).to_contain_text("李明")
