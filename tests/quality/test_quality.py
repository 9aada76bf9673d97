"""Scores, declared rules, cross-source checks and the rectification loop."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from datong.catalog import service as catalog
from datong.catalog import sources
from datong.catalog.schemas import ResourceIn
from datong.ingest.flows import run_load
from datong.store.models import Load
from datong.ingest.sources import Source
from datong.quality import flows, service
from datong.quality.models import QualityIssue, QualityScore
from tests.helpers import DEPT_CODE, OTHER_CODE, POPULATION_HEADER, POPULATION_ITEMS, population_rows, resource_body
from tests.ingest.conftest import write_csv


def load_rows(database, operator, code, tmp_path, rows, header=POPULATION_HEADER, name="p.csv"):
    path = write_csv(tmp_path / name, header, rows)
    return run_load(database, operator, resource_code=code, source=Source.from_path(path), mode="full")


def issues(database) -> dict[str, QualityIssue]:
    with database.unit_of_work() as session:
        return {i.rule: i for i in session.scalars(select(QualityIssue))}


def test_scores_follow_the_failures(database, operator, population, tmp_path):
    rows = population_rows(20)
    rows[0][3] = "not a date"  # validity: rejected
    rows[1][4] = ""  # completeness
    rows[2][2] = "2" if rows[2][2] == "1" else "1"  # consistency: flagged
    rows.append(list(rows[5]))  # uniqueness
    load_rows(database, operator, population, tmp_path, rows)
    with database.unit_of_work() as session:
        score = session.scalars(select(QualityScore)).one()
    assert score.rows == 21
    assert score.validity == pytest.approx(20 / 21)
    assert score.uniqueness == pytest.approx(20 / 21)
    assert score.consistency == pytest.approx(20 / 21)
    assert score.completeness == pytest.approx(1 - 1 / (21 * 5))  # one empty address in 21 rows of 5 items
    assert score.timeliness == 1.0
    assert score.overall == pytest.approx(sum([score.completeness, score.validity, score.uniqueness,
                                               score.consistency, 1.0]) / 5)


def test_issues_open_go_through_rectification_and_close_on_a_clean_load(database, operator, population, tmp_path,
                                                                         client, login):
    rows = population_rows(10)
    bad = [list(r) for r in rows]
    bad[0][3] = "1990-02-30"
    bad[1][3] = "1991-02-30"
    load_rows(database, operator, population, tmp_path, bad)
    issue = issues(database)["出生日期:date"]
    assert (issue.state, issue.failing, issue.severity) == ("open", 2, "reject")
    assert [s["row"] for s in issue.samples] == [2, 3] and issue.samples[0]["value"] == "1990-02-30"
    assert issue.deadline == (datetime.now(UTC) + timedelta(days=15)).date()

    provider, bureau = login("dadmin"), login("boss")
    listed = client.get("/api/v1/quality/issues", headers=provider).json()["items"]
    assert [i["rule"] for i in listed] == ["出生日期:date"] and listed[0]["overdue"] is False
    assert client.get("/api/v1/quality/issues", headers=login("clerk1")).status_code == 200
    url = f"/api/v1/quality/issues/{issue.id}"
    assert client.post(url, headers=provider, json={"state": "closed", "note": "x"}).status_code == 403
    assert client.post(url, headers=provider, json={"state": "rechecking"}).status_code == 422  # not yet rectifying
    assert client.post(url, headers=provider, json={"state": "rectifying", "note": "已通知户籍科"}).status_code == 200
    assert client.post(url, headers=provider, json={"state": "rechecking"}).json()["state"] == "rechecking"

    still_bad = [list(r) for r in rows]
    still_bad[0][3] = "1990-02-30"
    load_rows(database, operator, population, tmp_path, still_bad, name="q.csv")
    assert (issues(database)["出生日期:date"].state, issues(database)["出生日期:date"].failing) == ("rectifying", 1)

    load_rows(database, operator, population, tmp_path, rows, name="r.csv")
    closed = issues(database)["出生日期:date"]
    assert closed.state == "closed" and closed.failing == 0
    assert [h["to"] for h in closed.history] == ["open", "rectifying", "rechecking", "rectifying", "closed"]

    load_rows(database, operator, population, tmp_path, bad, name="s.csv")
    assert issues(database)["出生日期:date"].state == "reopened"
    assert client.post(url, headers=bureau, json={"state": "closed"}).status_code == 422  # needs a reason
    closing = client.post(url, headers=bureau, json={"state": "closed", "note": "历史数据，经核实无误"})
    assert closing.json()["state"] == "closed" and closing.json()["history"][-1]["by"] == "boss"


def test_a_declared_rule_applies_on_the_next_load(database, operator, population, tmp_path, client, login):
    body = {"kind": "pattern", "severity": "reject", "params": {"pattern": ".*市.*"}, "resource": population,
            "item": "住址"}
    assert client.post("/api/v1/quality/rules", headers=login("clerk1"), json=body).status_code == 403
    assert client.post("/api/v1/quality/rules", headers=login("dadmin"), json=body).status_code == 201
    rows = population_rows(4)
    rows[2][4] = "西湖区某街道"
    result = load_rows(database, operator, population, tmp_path, rows)
    assert result.rejected == 1 and "住址:pattern" in issues(database)


def test_values_that_disagree_with_the_authoritative_source_are_flagged(database, operator, population, tmp_path):
    # The civil affairs department holds names too, but public security is the source of 姓名.
    with database.unit_of_work() as session:
        other = catalog.create_resource(session, operator, data=ResourceIn.model_validate(
            resource_body(OTHER_CODE, name="低保对象信息", items=POPULATION_ITEMS[:2]))).code
        sources.claim_source(session, operator, element="DE0002", department=DEPT_CODE)
    rows = population_rows(5)
    load_rows(database, operator, population, tmp_path, rows)
    theirs = [[r[0], r[1]] for r in rows]
    theirs[3][1] = "错名字"
    result = load_rows(database, operator, other, tmp_path, theirs, header=POPULATION_HEADER[:2], name="mz.csv")
    assert (result.rejected, result.warned) == (0, 1)
    flagged = issues(database)["姓名:cross_source"]
    assert flagged.failing == 1 and flagged.samples[0]["value"] == "错名字"
    assert flagged.samples[0]["detail"].startswith(rows[3][1])


def test_a_quality_run_finds_a_stale_resource(database, operator, population, tmp_path, client, login):
    load_rows(database, operator, population, tmp_path, population_rows(3))
    with database.unit_of_work() as session:
        load = session.scalars(select(Load)).one()
        load.finished_at = datetime.now(UTC) - timedelta(days=5)  # the resource promises daily updates
    score = flows.run_quality(database, operator, resource_code=population)
    assert score.timeliness == 0.0 and score.validity == 1.0
    assert issues(database)["timeliness"].state == "open"
    quality = client.get(f"/api/v1/resources/{population}/quality", headers=login("clerk1")).json()
    assert quality["latest"]["timeliness"] == 0.0 and len(quality["history"]) == 2 and quality["open_issues"] == 1
    departments = client.get("/api/v1/quality/departments", headers=login("clerk1")).json()["items"]
    assert [d["department"] for d in departments] == [DEPT_CODE] and departments[0]["timeliness"] == 0.0
    load_rows(database, operator, population, tmp_path, population_rows(3), name="again.csv")
    flows.run_quality(database, operator, resource_code=population)
    assert issues(database)["timeliness"].state == "closed"
    with database.unit_of_work() as session:
        assert service.open_issue_count(session, resource_code=population) == 0


def test_samples_show_another_departments_values_only_to_those_allowed(database, operator, population, tmp_path,
                                                                        client, login):
    from datong.security import service as identity
    from datong.security.models import AuditEvent
    from tests.helpers import PASSWORD

    with database.unit_of_work() as session:
        other = catalog.create_resource(session, operator, data=ResourceIn.model_validate(
            resource_body(OTHER_CODE, name="低保对象信息", items=POPULATION_ITEMS[:2]))).code
        sources.claim_source(session, operator, element="DE0002", department=DEPT_CODE)
        identity.create_user(session, operator, username="mzclerk", display_name="民政窗口", department_code=OTHER_CODE,
                             roles=["clerk"], password=PASSWORD)
    rows = population_rows(5)
    load_rows(database, operator, population, tmp_path, rows)
    theirs = [[r[0], r[1]] for r in rows]
    theirs[3][1] = "错名字"
    load_rows(database, operator, other, tmp_path, theirs, header=POPULATION_HEADER[:2], name="mz.csv")
    authoritative = rows[3][1]

    def sample(username):
        listed = client.get("/api/v1/quality/issues", headers=login(username)).json()["items"]
        return next(i for i in listed if i["rule"] == "姓名:cross_source")["samples"][0]

    clerk = sample("mzclerk")  # 民政's own value, but not 公安's
    assert clerk["value"] == "错名字" and clerk.get("withheld") is True and "detail" not in clerk
    assert authoritative not in str(clerk)
    bureau = sample("boss")  # the bureau sees it masked by the sharing policy
    assert bureau["detail"].endswith("(测试省公安厅)") and not bureau["detail"].startswith(authoritative)
    # With a grant on 公安's resource covering 姓名, the clerk sees it as the grant says.
    asked = client.post("/api/v1/share/requests", headers=login("mzclerk"), json={
        "resource": population, "items": ["公民身份号码", "姓名"], "purpose": "低保核对", "legal_basis": "社会救助暂行办法"})
    assert asked.status_code == 201, asked.text
    approved = client.post(f"/api/v1/share/requests/{asked.json()['id']}/decision", headers=login("dadmin"),
                           json={"approve": True, "plain_items": ["姓名"]})
    assert approved.status_code == 200, approved.text
    assert sample("mzclerk")["detail"].startswith(authoritative)
    with database.reading() as session:
        reads = session.scalars(select(AuditEvent).where(AuditEvent.action == "quality.samples")).all()
    assert {r.actor for r in reads} >= {"mzclerk", "boss"} and reads[0].detail["withheld"] == 1
