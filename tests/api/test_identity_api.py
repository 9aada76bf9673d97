"""Departments, users, clients and the audit log over HTTP."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from datong.codes.credit_code import make_credit_code
from datong.security.models import ApiClient
from tests.helpers import DEPT_CODE, PASSWORD

NEW_CODE = make_credit_code("1", "1", "330100", "00400001")


def test_bureau_admin_registers_a_department(client, login):
    headers = login("boss")
    response = client.post("/api/v1/departments", headers=headers,
                           json={"code": NEW_CODE, "name": "测试市卫健委", "parent_code": DEPT_CODE})
    assert response.status_code == 201, response.text
    assert response.json()["parent_code"] == DEPT_CODE
    listed = client.get("/api/v1/departments", headers=headers).json()["items"]
    assert NEW_CODE in [d["code"] for d in listed]


def test_invalid_credit_code_says_why(client, login):
    response = client.post("/api/v1/departments", headers={**login("boss"), "Accept-Language": "en"},
                           json={"code": NEW_CODE[:-1] + ("0" if NEW_CODE[-1] != "0" else "1"), "name": "X"})
    assert response.status_code == 422
    assert "check character" in response.json()["detail"]


def test_duplicate_department_is_a_conflict(client, login):
    response = client.post("/api/v1/departments", headers=login("boss"), json={"code": DEPT_CODE, "name": "重复"})
    assert response.status_code == 409
    assert DEPT_CODE in response.json()["detail"]


def test_clerk_may_list_but_not_create_departments(client, login):
    headers = login("clerk1")
    assert client.get("/api/v1/departments", headers=headers).status_code == 200
    response = client.post("/api/v1/departments", headers=headers, json={"code": NEW_CODE, "name": "X"})
    assert response.status_code == 403
    assert response.json()["detail"] == "您无权登记部门。如需此权限，请联系管理员分配相应角色。"


def test_users_are_listed_by_scope(client, login, world):
    everyone = {u["username"] for u in client.get("/api/v1/users", headers=login("sys")).json()["items"]}
    assert {"boss", "sys", "sec", "aud", "dadmin", "clerk1"} <= everyone
    own = {u["username"] for u in client.get("/api/v1/users", headers=login("dadmin")).json()["items"]}
    assert own == {"dadmin", "clerk1"}
    assert client.get(f"/api/v1/users?department={world['bureau']}", headers=login("dadmin")).status_code == 403
    assert client.get("/api/v1/users", headers=login("clerk1")).status_code == 403


def test_create_user_and_sign_in_with_it(client, login):
    response = client.post("/api/v1/users", headers=login("dadmin"), json={
        "username": "Steward.Two", "display_name": "数据管理员二", "department_code": DEPT_CODE,
        "roles": ["data_steward"], "password": PASSWORD})
    assert response.status_code == 201, response.text
    assert response.json()["username"] == "steward.two" and "password" not in response.text
    token = client.post("/api/v1/auth/token", data={"grant_type": "password", "username": "steward.two",
                                                    "password": PASSWORD})
    assert token.status_code == 200


def test_separation_of_duties_over_http(client, login, world):
    response = client.post("/api/v1/users", headers={**login("sec"), "Accept-Language": "en"}, json={
        "username": "both", "display_name": "B", "department_code": world["bureau"],
        "roles": ["security_admin", "auditor"], "password": PASSWORD})
    assert response.status_code in (403, 422)
    assert "both" not in {u["username"] for u in client.get("/api/v1/users", headers=login("sys")).json()["items"]}


def test_client_secret_is_shown_once_and_stored_hashed(client, login, database, world):
    response = client.post("/api/v1/clients", headers=login("boss"),
                           json={"department_code": DEPT_CODE, "name": "人口核验系统"})
    body = response.json()
    assert response.status_code == 201 and len(body["client_secret"]) >= 32
    with database.unit_of_work() as session:
        stored = session.scalar(select(ApiClient).where(ApiClient.client_id == body["client_id"]))
    assert stored.secret_hash.startswith("$argon2id$") and body["client_secret"] not in stored.secret_hash
    listed = client.get("/api/v1/clients", headers=login("boss")).json()["items"]
    assert body["client_id"] in [c["client_id"] for c in listed]
    assert "client_secret" not in listed[0]


def test_audit_log_is_for_auditors_and_filterable(client, login, world):
    assert client.get("/api/v1/audit/events", headers=login("boss")).status_code == 403
    assert client.get("/api/v1/audit/events", headers=login("sys")).status_code == 403
    headers = login("aud")
    events = client.get("/api/v1/audit/events?action=user.create", headers=headers).json()["items"]
    assert len(events) == 6 and {e["action"] for e in events} == {"user.create"}
    by_actor = client.get("/api/v1/audit/events?actor=boss&action=auth.login", headers=headers).json()["items"]
    assert by_actor and {e["actor"] for e in by_actor} == {"boss"}
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert client.get("/api/v1/audit/events", params={"since": future}, headers=headers).json()["items"] == []
    reads = client.get("/api/v1/audit/events?action=audit.read", headers=headers).json()["items"]
    assert reads and reads[0]["actor"] == "aud"


def test_audit_log_finds_events_by_data_subject(client, login, database):
    from datong.security.audit import append_event
    from datong.security.authz import Actor

    with database.unit_of_work() as session:
        append_event(session, actor=Actor(kind="client", name="dtc_x"), action="record.read",
                     subjects=["11010519491231002X"], purpose="低保资格核查", case_number="MZ-2026-001")
    events = client.get("/api/v1/audit/events?subject=11010519491231002X", headers=login("aud")).json()["items"]
    assert [e["case_number"] for e in events] == ["MZ-2026-001"]


def test_healthz_metrics_and_docs(client, database):
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["database"] == database.dialect
    client.get("/api/v1/departments")
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert 'datong_http_requests_total{method="GET",route="/api/v1/departments",status="401"}' in metrics.text
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/auth/token", "/api/v1/departments", "/api/v1/users", "/api/v1/clients",
            "/api/v1/audit/events"} <= set(paths)
