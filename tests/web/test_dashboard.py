"""The home page lists each person's waiting work, counted by the services the linked pages use."""

import re

import pytest
from playwright.sync_api import expect

from datong.ingest.flows import run_load
from datong.ingest.sources import LoadFailed, Source
from tests.sharing.test_sharing import ask, shared  # noqa: F401
from tests.helpers import PASSWORD
from tests.web.test_console import sign_in

pytestmark = pytest.mark.console


def _count(page, key: str):
    return page.get_by_test_id("worklist").locator(f"li[data-work={key}] .count")


def test_a_provider_sees_requests_to_decide_and_failed_loads(page, live_server, shared, client, database, operator,
                                                             tmp_path):
    ask(client, shared["system"], shared["code"], ["姓名"])
    bad = tmp_path / "bad.csv"
    bad.write_bytes("甲,乙\n1,2\n".encode())
    with pytest.raises(LoadFailed):
        run_load(database, operator, resource_code=shared["code"], mode="full", source=Source.from_path(bad))
    sign_in(page, live_server, "dadmin")
    expect(_count(page, "requests")).to_have_text("1")
    expect(_count(page, "failed_loads")).to_have_text("1")
    expect(page.get_by_test_id("worklist").locator("li[data-work=conflicts]")).to_have_count(0)  # the bureau's
    page.get_by_test_id("worklist").locator("li[data-work=failed_loads] a").click()
    expect(page).to_have_url(f"{live_server}/catalog/r/{shared['code']}/loads")
    page.goto(f"{live_server}/")
    page.get_by_test_id("worklist").locator("li[data-work=requests] a").click()
    expect(page.get_by_test_id("requests").get_by_test_id("review")).to_have_count(1)


def test_each_role_is_shown_only_the_work_it_can_do(client, shared, world):
    ask(client, shared["system"], shared["code"], ["姓名"])
    pages = {}
    for username in ("boss", "aud", "clerk1"):
        client.cookies.clear()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
        pages[username] = client.get("/").text
        assert 'data-testid="worklist"' in pages[username]
    assert 'data-work="conflicts"' in pages["boss"] and 'data-work="requests"' in pages["boss"]
    assert 'data-work="requests"' not in pages["aud"] and 'data-work="conflicts"' not in pages["aud"]
    assert 'data-work="requests"' not in pages["clerk1"] and 'data-work="failed_loads"' not in pages["clerk1"]
    assert 'data-work="dead_letters"' in pages["clerk1"]  # a clerk's department may subscribe
