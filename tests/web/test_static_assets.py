"""Pages load what they use: the chart library only where a chart is drawn; static files are cached
under versioned addresses; the console has a favicon."""

from __future__ import annotations

from playwright.sync_api import expect

from datong import __version__
from datong.ingest.flows import run_load
from datong.ingest.sources import Source
from tests.helpers import POPULATION_HEADER, population_rows
from tests.ingest.conftest import population, write_csv  # noqa: F401 - the fixture
from tests.web.test_console import sign_in


def test_the_chart_library_loads_only_on_chart_pages(page, live_server, database, operator, population, tmp_path):
    path = write_csv(tmp_path / "people.csv", POPULATION_HEADER, population_rows(5))
    run_load(database, operator, resource_code=population, source=Source.from_path(path))  # a score to chart
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    sign_in(page, live_server, "sys")  # the bureau administrator's home charts the province
    expect(page.locator("h1")).to_be_visible()
    page.goto(f"{live_server}/departments")
    expect(page.locator("h1")).to_be_visible()
    assert not [u for u in fetched if "echarts" in u]
    page.goto(f"{live_server}/quality")
    expect(page.get_by_test_id("department-chart").locator("svg")).to_have_count(1)
    assert len([u for u in fetched if "echarts" in u]) == 1


def test_versioned_static_files_are_cached_and_there_is_a_favicon(client):
    versioned = client.get(f"/static/app.css?v={__version__}")
    assert versioned.status_code == 200 and "immutable" in versioned.headers["cache-control"]
    assert "cache-control" not in client.get("/static/app.css").headers  # unversioned: revalidated
    assert client.get("/static/favicon.svg").headers["content-type"].startswith("image/svg+xml")
    html = client.get("/login").text
    assert f"/static/app.js?v={__version__}" in html and "echarts" not in html.split("<body")[0]
