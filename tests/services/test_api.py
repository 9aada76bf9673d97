"""The one window over HTTP, as a department system or a mobile app uses it: open with prefill,
complete the form, attach, accept, decide the reviews, follow the case publicly, rate; and the
errors a caller meets: unknown fields, a file that is not what it says, a wrong tracking code."""

from __future__ import annotations

from sqlalchemy import select

from datong.security.models import AuditEvent
from tests.helpers import DEPT_CODE, OTHER_CODE
from tests.services.conftest import ALLOWANCE, CERTIFICATE

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def test_case_over_the_api(client, login, window, database):
    clerk, mz = login("clerk1"), login("mzclerk")
    opened = client.post("/api/v1/cases", headers=clerk, json={"applicant": window["people"][1], "item": CERTIFICATE,
                                                                "authorised": True})
    assert opened.status_code == 201, opened.text
    case = opened.json()
    number = case["number"]
    assert case["form"]["姓名"] == "王建国" and case["sources"]["配偶姓名"]["kind"] == "licence"
    assert client.post(f"/api/v1/cases/{number}/accept", headers=clerk).json()["code"] == "case_not_ready"
    assert client.patch(f"/api/v1/cases/{number}/form", headers=clerk,
                        json={"values": {"不存在": "x"}}).status_code == 422
    assert client.patch(f"/api/v1/cases/{number}/form", headers=clerk,
                        json={"values": {"联系地址": "杭州市西湖区文三路1号"}}).status_code == 200
    bad = client.put(f"/api/v1/cases/{number}/materials/户口簿", headers=clerk | {"X-Filename": "hkb.pdf"},
                     content=b"<html>not a pdf</html>")
    assert bad.status_code == 422 and "hkb.pdf" in bad.json()["detail"]
    assert client.put(f"/api/v1/cases/{number}/materials/户口簿", headers=clerk | {"X-Filename": "hkb.png"},
                      content=PNG).status_code == 201
    scan = next(m["by"] for m in client.get(f"/api/v1/cases/{number}", headers=clerk).json()["materials"]
                if m["name"] == "户口簿").removeprefix("attachment:")
    assert client.get(f"/api/v1/cases/{number}/materials/{scan}", headers=mz).content == PNG  # the reviewer sees it
    assert client.get(f"/api/v1/cases/{number}/materials/{scan}", headers=login("sys")).status_code == 403
    accepted = client.post(f"/api/v1/cases/{number}/accept", headers=clerk).json()
    assert accepted["status"] == "in_review" and len(accepted["tasks"]) == 2
    # acceptance reads its tasks at the driver level: they are shown as a read of the case shows them
    assert accepted["tasks"] == client.get(f"/api/v1/cases/{number}", headers=clerk).json()["tasks"]
    receipt = client.get(f"/api/v1/cases/{number}/receipt.pdf", headers=clerk)
    assert receipt.status_code == 200 and receipt.content.startswith(b"%PDF-")
    flow = client.get(f"/api/v1/cases/{number}/flow", headers=clerk).json()
    assert sorted(flow["current"]) == ["review_1_1", "review_1_2"] and "<bpmn:definitions" in flow["bpmn"]
    for headers in (mz, clerk):
        task = client.get("/api/v1/review-tasks", headers=headers).json()["tasks"][0]
        assert client.post(f"/api/v1/review-tasks/{task['id']}", headers=headers,
                           json={"outcome": "approve"}).status_code == 200
    done = client.get(f"/api/v1/cases/{number}", headers=clerk).json()
    assert done["status"] == "completed" and done["result_licence"]
    assert [h["action"] for h in done["history"]][:2] == ["opened", "form"]
    code = done["track_code"]
    assert client.get(f"/api/v1/track/{number}", params={"code": code}).json()["status"] == "completed"
    assert client.get(f"/api/v1/track/{number}", params={"code": "0" * 16}).status_code == 404
    assert client.post(f"/api/v1/cases/{number}/deliver", headers=clerk, json={"method": "window"}).json()["visits"] == 2
    assert client.post(f"/api/v1/cases/{number}/rating", headers=clerk, json={"level": 5}).status_code == 201
    assert client.get(f"/api/v1/cases/{number}", headers=login("boss")).status_code == 200  # the bureau sees all
    listed = client.get("/api/v1/cases", headers=clerk, params={"status": "delivered"}).json()
    assert [c["number"] for c in listed["cases"]] == [number] and "form" not in listed["cases"][0]
    assert listed["total"] == 1 and listed["total_exact"] is True
    with database.reading() as session:  # the list names the applicant: its read is audited
        assert session.scalar(select(AuditEvent.seq).where(AuditEvent.action == "case.list")) is not None


def test_guide_is_public_and_counts_what_is_not_brought(client, window):
    guide = client.get(f"/api/v1/guide/{CERTIFICATE}").json()
    assert guide["materials_not_needed"] == 1 and guide["materials_to_bring"] == 1
    assert [(s["name"], s["department"]) for s in guide["steps"]] == [("民政审核", OTHER_CODE), ("公安核查", DEPT_CODE)]
    page = client.get(f"/guide/{CERTIFICATE}")
    assert page.status_code == 200 and "民政审核 · 测试省民政厅" in page.text
    assert client.get(f"/api/v1/guide/{ALLOWANCE}").json()["automatic"] is True


def test_unknown_fields_and_outsiders_are_refused(client, login, window):
    clerk = login("clerk1")
    assert client.post("/api/v1/cases", headers=clerk, json={"applicant": window["people"][1], "item": CERTIFICATE,
                                                             "colour": "red"}).status_code == 422
    wrong = client.post("/api/v1/cases", headers=clerk, json={"applicant": "110101199003077777", "item": CERTIFICATE})
    assert wrong.status_code == 422 and wrong.json()["code"] == "invalid_input"
    number = client.post("/api/v1/cases", headers=clerk, json={"applicant": window["people"][1],
                                                              "item": CERTIFICATE}).json()["number"]
    assert client.get(f"/api/v1/cases/{number}", headers=login("dadmin")).status_code == 200  # same department
    assert client.get(f"/api/v1/cases/{number}", headers=login("mzclerk")).status_code == 200  # owns the item
    assert client.get(f"/api/v1/cases/{number}", headers=login("sys")).status_code == 403  # no part in it
