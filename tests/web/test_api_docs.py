"""/docs works on a network without internet: Swagger UI comes from the package, and it can sign in."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import expect


def test_docs_render_offline_with_an_authorize_button(page, live_server):
    outside = []

    def only_local(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost") or route.request.url.startswith("data:"):
            route.continue_()
        else:  # what a government network does to a CDN
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(f"{live_server}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Datong", timeout=20_000)  # a busy machine renders the whole OpenAPI slowly
    expect(page.locator("button.authorize")).to_be_visible()
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert outside == []


def test_docs_html_names_no_cdn(client):
    html = client.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html and "cdn." not in html
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs/oauth2-redirect").status_code == 200
