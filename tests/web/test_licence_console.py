"""The licence library in the console, in real Chromium: the list with its chart, a licence's page
with its QR code and PDF, revoking it, seals with rotation, and the public verify page (no sign-in)
in both languages, including a QR whose document was altered."""

import json

import pytest
from playwright.sync_api import expect

from datong.licenses import documents, render, service, signing
from tests.licenses.conftest import issued, library  # noqa: F401 - fixtures
from tests.web.test_console import sign_in

pytestmark = pytest.mark.console


def test_licences_seals_and_revocation(page, live_server, issued):  # noqa: F811
    sign_in(page, live_server, "boss")
    page.goto(f"{live_server}/licences")
    expect(page.get_by_test_id("licence-chart").locator("svg")).to_be_visible()
    rows = page.get_by_test_id("licences").locator("tbody tr")
    expect(rows).to_have_count(3)
    rows.first.locator("a").click()
    expect(page.get_by_test_id("licence-state")).to_have_text("有效")
    expect(page.get_by_test_id("qr").locator("svg")).to_be_visible()
    pdf = page.request.get(live_server + page.get_by_test_id("pdf-link").get_attribute("href"))
    assert pdf.ok and pdf.body().startswith(b"%PDF-")
    form = page.get_by_test_id("state-form")
    form.locator("input[name=reason]").fill("登记信息有误")
    form.get_by_test_id("revoke").click()
    expect(page.get_by_test_id("licence-state")).to_have_text("已撤销")
    expect(page.get_by_test_id("history")).to_contain_text("登记信息有误")

    page.goto(f"{live_server}/licences/seals")
    expect(page.locator("article.seal")).to_have_count(3)
    first = page.locator("article.seal").first
    first.locator("button[data-testid^=rotate-]").click()
    expect(page.get_by_test_id("rotated")).to_be_visible()
    expect(page.locator("article.seal").first.locator("tbody tr")).to_have_count(2)


def test_public_verify_page_in_both_languages(browser, live_server, database, issued):  # noqa: F811
    with database.reading() as session:
        lic = service.get_licence(session, issued[0])
    text = render.qr_for(live_server, lic.document, lic.signature)
    zh = browser.new_context(locale="zh-CN").new_page()
    zh.goto(text)
    expect(zh.get_by_test_id("verdict")).to_have_attribute("data-outcome", "valid")
    expect(zh.get_by_test_id("verdict")).to_contain_text("有效")
    expect(zh.get_by_test_id("verdict")).to_contain_text("测*")

    doc = json.loads(lic.document)
    doc["data"]["配偶姓名"] = "别人"
    forged = documents.qr_text(live_server, doc, signing.unb64(lic.signature))
    en = browser.new_context(locale="en-US").new_page()
    en.goto(forged)
    expect(en.get_by_test_id("verdict")).to_have_attribute("data-outcome", "tampered")
    expect(en.get_by_test_id("changed")).to_have_text("data.配偶姓名")
    expect(en.get_by_test_id("verdict")).to_contain_text("altered")
    en.goto(f"{live_server}/verify/1.2.156.3005.2.nothing")
    expect(en.locator("p.error")).to_be_visible()


def test_licence_types_export_and_import_in_the_console(page, live_server, library, tmp_path):  # noqa: F811
    sign_in(page, live_server, "boss")
    page.goto(f"{live_server}/licences/types")
    expect(page.get_by_test_id("types")).to_contain_text("结婚证")
    with page.expect_download() as download:
        page.get_by_test_id("export-types").click()
    path = tmp_path / "types.xlsx"
    download.value.save_as(path)
    page.get_by_test_id("import-types").locator("input[type=file]").set_input_files(str(path))
    page.get_by_test_id("import-types").locator("button").click()
    expect(page.get_by_test_id("saved")).to_contain_text("结婚证")
    (tmp_path / "junk.xlsx").write_bytes(b"not a workbook")
    page.get_by_test_id("import-types").locator("input[type=file]").set_input_files(str(tmp_path / "junk.xlsx"))
    page.get_by_test_id("import-types").locator("button").click()
    expect(page.get_by_test_id("problems")).to_be_visible()
