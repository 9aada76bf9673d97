"""Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("DATONG_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM}; `make test` installs Debian's chromium"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def patient(page):
    """A page that waits 15 s for an element and 60 s for a page to load: on a shared two-core
    machine running both test workers, PostgreSQL and Chromium, a first navigation has been seen
    to take longer than 15 s. A server that never answers still fails the test."""
    page.set_default_timeout(15000)
    page.set_default_navigation_timeout(60000)
    return page


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-US")
    page = patient(context.new_page())
    yield page
    context.close()
