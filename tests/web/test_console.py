"""The console in real Chromium: sign in, register a department, see it, switch to English."""

import re

import pytest
from playwright.sync_api import expect

from datong.codes.credit_code import make_credit_code
from tests.helpers import PASSWORD

pytestmark = pytest.mark.console
NEW_CODE = make_credit_code("1", "1", "330000", "00600001")


def sign_in(page, base, username, password=PASSWORD):
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_sign_in_register_a_department_and_switch_to_english(page, live_server, tmp_path):
    sign_in(page, live_server, "boss")
    # Chinese by default, even though the browser asks for English
    expect(page.locator("h1")).to_have_text("BOSS，您好")
    expect(page.get_by_test_id("home-department")).to_have_text("测试省大数据局")
    page.click("a[href='/departments'] >> nth=0")
    expect(page.locator("h1")).to_have_text("部门")
    page.fill("input[name=code]", NEW_CODE)
    page.fill("input[name=name]", "测试省司法厅")
    page.click("form.card button[type=submit]")
    expect(page.get_by_test_id("created")).to_contain_text("测试省司法厅")
    expect(page.get_by_test_id("departments")).to_contain_text(NEW_CODE)
    page.screenshot(path=str(tmp_path / "departments.png"), full_page=True)
    page.reload()
    expect(page.get_by_test_id("departments")).to_contain_text("测试省司法厅")
    page.get_by_test_id("locale-en").click()
    expect(page.locator("h1")).to_have_text("Departments")
    expect(page.get_by_test_id("departments")).to_contain_text("Unified social credit code")
    page.get_by_test_id("locale-zh").click()
    expect(page.locator("h1")).to_have_text("部门")


def test_a_bad_credit_code_is_explained_and_the_form_kept(page, live_server):
    sign_in(page, live_server, "boss")
    page.goto(f"{live_server}/departments")
    page.fill("input[name=code]", NEW_CODE[:-1] + "Z")
    page.fill("input[name=name]", "写错代码的部门")
    page.click("form.card button[type=submit]")
    expect(page.get_by_test_id("error")).to_contain_text("统一社会信用代码不正确")
    expect(page.locator("input[name=name]")).to_have_value("写错代码的部门")
    expect(page.get_by_test_id("departments")).not_to_contain_text("写错代码的部门")


def test_wrong_password_stays_on_the_login_page(page, live_server):
    sign_in(page, live_server, "boss", "wrong-password")
    expect(page.locator("[role=alert]")).to_have_text("用户名或密码错误，或账号已停用。")


def test_dept_admin_creates_a_user_in_own_department(page, live_server):
    sign_in(page, live_server, "dadmin")
    page.goto(f"{live_server}/users")
    expect(page.get_by_test_id("users")).to_contain_text("clerk1")
    expect(page.get_by_test_id("users")).not_to_contain_text("boss")
    # a department administrator is not offered the privileged roles
    expect(page.locator("input[name=roles][value=auditor]")).to_have_count(0)
    page.fill("input[name=username]", "newclerk")
    page.fill("input[name=display_name]", "新窗口人员")
    page.check("input[name=roles][value=clerk]")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.card button[type=submit]")
    expect(page.get_by_test_id("created")).to_contain_text("newclerk")
    expect(page.get_by_test_id("users")).to_contain_text("新窗口人员")


def test_clerk_is_refused_the_department_form_and_sign_out_works(page, live_server):
    sign_in(page, live_server, "clerk1")
    page.goto(f"{live_server}/departments")
    expect(page.locator("form.card")).to_have_count(0)
    response = page.goto(f"{live_server}/users")
    assert response.status == 403
    expect(page.locator("[role=alert]")).to_contain_text("您无权查看这些账号")
    page.click("text=退出")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(f"{live_server}/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_auditor_reads_filters_and_verifies_the_chain(page, live_server):
    sign_in(page, live_server, "aud")
    page.click("nav >> text=审计日志")
    expect(page.get_by_test_id("events")).to_contain_text("新建账号")  # user.create, in words
    page.select_option("select[name=action]", "department.create")
    page.click("form.filters button")
    expect(page.get_by_test_id("events").locator("tbody tr")).to_have_count(3)
    page.get_by_role("button", name="校验审计链").click()
    expect(page.get_by_test_id("chain")).to_contain_text("审计链完整")


def test_only_auditors_see_the_audit_log(page, live_server):
    sign_in(page, live_server, "boss")
    expect(page.locator("nav")).not_to_contain_text("审计日志")
    assert page.goto(f"{live_server}/audit").status == 403
