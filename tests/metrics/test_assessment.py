"""The departments' assessment through the API, the CLI's report and the console: indicators
measured from where the work is recorded, scored against targets, weighted, ranked, drilled down."""

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from datong.catalog import service as catalog
from datong.catalog.schemas import ResourceIn
from datong.db.base import utcnow
from datong.metrics import assessment
from datong.quality.models import QualityIssue
from datong.security.authz import Actor
from datong.security.models import Department
from datong.security.roles import Role
from datong.sharing import service as sharing
from tests.helpers import (
    DEPT_CODE,
    OTHER_CODE,
    POPULATION_HEADER,
    POPULATION_ITEMS,
    population_rows,
    resource_body,
)
from tests.opendata.conftest import load_csv

PERIOD = date.today().strftime("%Y-%m")


@pytest.fixture
def scene(database, operator, world, tmp_path):
    """公安 (DEPT): a daily resource loaded today and a monthly one never loaded, two quality issues
    due this month (one closed on time), a request from 民政 decided; 民政 (OTHER): one resource loaded."""
    with database.unit_of_work() as session:
        daily = catalog.create_resource(session, operator, data=ResourceIn.model_validate(
            resource_body(DEPT_CODE, name="常住人口信息", items=POPULATION_ITEMS, update_cycle="daily",
                          sharing_type="unconditional"))).code
        monthly = catalog.create_resource(session, operator, data=ResourceIn.model_validate(
            resource_body(DEPT_CODE, name="暂住登记信息", update_cycle="monthly"))).code
        other = catalog.create_resource(session, operator, data=ResourceIn.model_validate(
            resource_body(OTHER_CODE, name="婚姻登记信息", items=POPULATION_ITEMS, update_cycle="monthly"))).code
        ids = dict(session.execute(select(Department.code, Department.id)).all())
    load_csv(database, operator, daily, tmp_path, POPULATION_HEADER, population_rows(20), "a.csv")
    load_csv(database, operator, other, tmp_path, POPULATION_HEADER, population_rows(10), "b.csv")
    today = date.today()
    with database.unit_of_work() as session:
        resource_id = catalog.get_resource(session, daily).id
        for n, closed in enumerate((True, False)):
            session.add(QualityIssue(resource_id=resource_id, department_id=ids[DEPT_CODE], rule=f"rule-{n}",
                                     kind="validity", severity="reject", state="closed" if closed else "open",
                                     deadline=today, closed_at=utcnow() if closed else None))
        clerk = Actor(kind="user", name="mzt_clerk", department_id=ids[OTHER_CODE], department_code=OTHER_CODE,
                      roles=frozenset({Role.CLERK}))
        request = sharing.request_access(session, clerk, resource_code=daily, items=["姓名"], purpose="核验",
                                         legal_basis="条例", days=30)
        if request.status == "pending":
            sharing.decide_request(session, operator, request_id=request.id, approve=True)
    database.audit.record(actor=clerk, action="share.read", target=f"resource:{daily}", subjects=["x"])
    return {"daily": daily, "monthly": monthly, "other": other}


def test_indicators_scores_and_ranking(client, login, scene):
    answer = client.get("/api/v1/assessment", params={"period": PERIOD}, headers=login("boss"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    rows = {d["department"]: d for d in body["departments"]}
    police, civil = rows[DEPT_CODE], rows[OTHER_CODE]
    assert police["values"]["attachment"] == 0.5 and civil["values"]["attachment"] == 1.0
    assert police["values"]["timeliness"] == 0.5  # the daily one loaded today, the monthly one never
    assert police["values"]["rectification"] == 0.5 and police["points"]["rectification"] == pytest.approx(55.6, abs=0.1)
    assert police["values"]["calls"] == 1 and police["values"]["turnaround"] is not None
    assert police["points"]["turnaround"] == 100.0  # decided at once: well within 72 hours
    assert "rating" not in police["points"]  # no one-window cases: left out of the total
    assert civil["rank"] < police["rank"] and civil["total"] > police["total"]
    weights = {i["key"]: i["weight"] for i in body["indicators"]}
    applied = [k for k in police["points"]]
    expected = sum(police["points"][k] * weights[k] for k in applied) / sum(weights[k] for k in applied)
    assert police["total"] == pytest.approx(expected, abs=0.1)


def test_the_bureau_sets_weights_and_targets(client, login, scene):
    boss = login("boss")
    assert client.put("/api/v1/assessment/indicators/attachment", headers=login("dadmin"),
                      json={"weight": 100, "target": 1}).status_code == 403
    for key in [i.key for i in assessment.INDICATORS if i.key != "attachment"]:
        assert client.put(f"/api/v1/assessment/indicators/{key}", headers=boss, json={"weight": 0, "target": 1}).status_code == 200
    body = client.get("/api/v1/assessment", params={"period": PERIOD}, headers=boss).json()
    totals = {d["department"]: d["total"] for d in body["departments"]}
    assert totals[DEPT_CODE] == 50.0 and totals[OTHER_CODE] == 100.0  # attachment alone now counts
    assert client.put("/api/v1/assessment/indicators/nonsense", headers=boss, json={"weight": 1, "target": 1}).status_code == 422
    assert client.get("/api/v1/assessment", headers=login("clerk1")).status_code == 403
    assert client.get("/api/v1/assessment", params={"period": "2026-13"}, headers=boss).status_code == 422


def test_drill_down_shows_what_is_behind_the_figures(client, login, scene):
    detail = client.get(f"/api/v1/assessment/departments/{DEPT_CODE}", params={"period": PERIOD},
                        headers=login("boss")).json()
    assert [r["resource"] for r in detail["not_attached"]] == [scene["monthly"]]
    assert [r["resource"] for r in detail["missed_updates"]] == [scene["monthly"]]
    assert [i["rule"] for i in detail["issues_not_closed_on_time"]] == ["rule-1"]
    assert len(detail["slowest_requests"]) == 1


def test_trends_and_quarters(client, login, scene):
    trend = client.get("/api/v1/assessment/trend", params={"period": PERIOD, "periods": 3}, headers=login("boss")).json()
    assert len(trend["periods"]) == 3 and trend["periods"][-1] == PERIOD
    police = next(d for d in trend["departments"] if d["code"] == DEPT_CODE)
    assert police["totals"][-1] is not None and police["totals"][0] is None  # nothing before this month
    quarter = assessment.period(f"{date.today().year}-Q{(date.today().month - 1) // 3 + 1}")
    assert quarter.start <= date.today() < quarter.end and (quarter.end - quarter.start).days in (90, 91, 92)
    assert assessment.period("2026-Q1").previous().key == "2025-Q4"
    assert assessment.period("2026-01").previous().key == "2025-12"


def test_reports_in_excel_and_pdf(client, login, scene):
    boss = login("boss")
    xlsx = client.get("/api/v1/assessment/report.xlsx", params={"period": PERIOD}, headers=boss)
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    ranking = book.worksheets[0]
    assert ranking.cell(2, 2).value == "部门" and {ranking.cell(3, 2).value, ranking.cell(4, 2).value} == {"测试省公安厅", "测试省民政厅"}
    assert len(ranking._charts) == 1 and len(book.worksheets[2]._charts) == 1  # the totals, the trend
    pdf = client.get("/api/v1/assessment/report.pdf", params={"period": PERIOD, "lang": "en"}, headers=boss)
    assert pdf.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert PERIOD in text and "Rank" in text


def test_the_province_at_a_glance(client, login, scene):
    glance = client.get("/api/v1/overview", headers=login("boss")).json()
    assert glance["total_reads"] == 1 and glance["reads"][-1] == 1
    assert glance["top_consumers"][0]["code"] == OTHER_CODE and glance["top_providers"][0]["code"] == DEPT_CODE
    assert glance["loads_committed"] == 2 and glance["loads_failed"] == 0
    console = client.post("/login", data={"username": "boss", "password": "Test#Pass2026",
                                          "csrf_token": _csrf(client)}, follow_redirects=True)
    assert 'data-testid="glance"' in console.text and 'data-testid="reads-chart"' in console.text


def _csrf(client) -> str:
    import re

    page = client.get("/login")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_the_console_ranking_and_drill_down(client, login, scene):
    client.post("/login", data={"username": "boss", "password": "Test#Pass2026", "csrf_token": _csrf(client)})
    page = client.get("/assessment", params={"period": PERIOD})
    assert page.status_code == 200 and 'data-testid="ranking-chart"' in page.text
    assert f'data-department="{OTHER_CODE}"' in page.text
    detail = client.get(f"/assessment/{DEPT_CODE}", params={"period": PERIOD})
    assert scene["monthly"] in detail.text and "rule-1" in detail.text
    report = client.get("/assessment/report.xlsx", params={"period": PERIOD})
    assert report.status_code == 200 and report.content[:2] == b"PK"
    last_month = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    assert client.get("/assessment", params={"period": last_month}).status_code == 200
