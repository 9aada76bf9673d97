"""Accounts, systems, departments and resources after creation: disabled, reset, re-roled,
rotated, deactivated, withdrawn; audited, and nothing deleted that the audit log names."""

from urllib.parse import quote

import pytest
from sqlalchemy import select

from datong import events
from datong.security.models import AuditEvent
from tests.helpers import DEPT_CODE, PASSWORD
from tests.sharing.test_sharing import ask, shared  # noqa: F401


@pytest.fixture
def settings(settings):
    """The subscription below calls back to 127.0.0.1, which must be allowed."""
    return settings.model_copy(update={"callback_allow": "127.0.0.1"})


def _token(client, username, password=PASSWORD):
    return client.post("/api/v1/auth/token", data={"grant_type": "password", "username": username,
                                                    "password": password})


def _actions(database, like):
    with database.reading() as session:
        return list(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like(like))
                                    .order_by(AuditEvent.seq)))


def test_an_account_is_disabled_enabled_reset_and_re_roled(client, login, database):
    boss = login("boss")
    assert client.post("/api/v1/users/clerk1/disable", headers=boss, json={"reason": ""}).status_code == 422
    off = client.post("/api/v1/users/clerk1/disable", headers=boss, json={"reason": "调离岗位"})
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert _token(client, "clerk1").status_code == 401
    assert client.post("/api/v1/users/clerk1/enable", headers=boss, json={"reason": "返岗"}).status_code == 200
    assert _token(client, "clerk1").status_code == 200
    assert client.post("/api/v1/users/boss/disable", headers=boss, json={"reason": "x"}).status_code == 422  # not oneself

    reset = client.post("/api/v1/users/clerk1/reset-password", headers=boss)
    assert reset.status_code == 200 and len(reset.json()["password"]) == 16
    assert _token(client, "clerk1").status_code == 401  # the old password no longer works
    assert _token(client, "clerk1", reset.json()["password"]).status_code == 200

    roles = client.put("/api/v1/users/clerk1/roles", headers=boss, json={"roles": ["clerk", "data_steward"]})
    assert roles.status_code == 200 and roles.json()["roles"] == ["clerk", "data_steward"]
    separated = client.put("/api/v1/users/sec/roles", headers=login("sys"), json={"roles": ["security_admin", "auditor"]})
    assert separated.status_code == 422  # 三员 stay three people
    dept = login("dadmin")  # a department admin manages its own department only, and no bureau roles
    assert client.put("/api/v1/users/clerk1/roles", headers=dept, json={"roles": ["bureau_admin"]}).status_code == 403
    assert client.post("/api/v1/users/aud/disable", headers=dept, json={"reason": "x"}).status_code == 403
    assert {"user.disable", "user.enable", "user.password.reset", "user.roles"} <= set(_actions(database, "user.%"))


def test_a_system_is_disabled_and_its_secret_rotated(client, login, shared):
    boss = login("boss")
    form = {"grant_type": "client_credentials", "client_id": shared["client_id"]}
    rotated = client.post(f"/api/v1/clients/{shared['client_id']}/rotate-secret", headers=boss)
    assert rotated.status_code == 200
    secret = rotated.json()["client_secret"]
    assert client.post("/api/v1/auth/token", data={**form, "client_secret": secret}).status_code == 200
    off = client.post(f"/api/v1/clients/{shared['client_id']}/disable", headers=boss, json={"reason": "系统下线"})
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert client.post("/api/v1/auth/token", data={**form, "client_secret": secret}).status_code == 401


def test_a_deactivated_department_cannot_sign_in(client, login, database):
    boss = login("boss")
    off = client.post(f"/api/v1/departments/{DEPT_CODE}/deactivate", headers=boss, json={"reason": "机构改革"})
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert _token(client, "dadmin").status_code == 401
    assert client.post(f"/api/v1/departments/{DEPT_CODE}/activate", headers=boss,
                       json={"reason": "恢复"}).status_code == 200
    assert _token(client, "dadmin").status_code == 200
    assert client.post(f"/api/v1/departments/{DEPT_CODE}/deactivate", headers=login("dadmin"),
                       json={"reason": "x"}).status_code == 403
    assert {"department.deactivate", "department.activate"} <= set(_actions(database, "department.%"))


def test_a_withdrawn_resource_is_no_longer_shared_loaded_or_requested(client, login, shared, database):
    ask(client, shared["system"], shared["open"], ["姓名"])  # granted at once
    ask(client, shared["system"], shared["code"], ["姓名"])  # waits for the provider
    person = shared["rows"][0][0]
    read = {**shared["system"], "X-Purpose": quote("核查")}
    url = f"/api/v1/share/{shared['open']}/records/{person}"
    assert client.get(url, headers=read).status_code == 200
    grant = client.get("/api/v1/share/grants", headers=shared["system"]).json()["items"][0]
    assert client.post("/api/v1/share/subscriptions", headers=shared["system"], json={
        "grant_id": grant["id"], "callback_url": "http://127.0.0.1:9/hook"}).status_code == 201
    dadmin = login("dadmin")
    assert client.post(f"/api/v1/resources/{shared['open']}/withdraw", headers=login("clerk1"),
                       json={"reason": "x"}).status_code == 403
    out = client.post(f"/api/v1/resources/{shared['open']}/withdraw", headers=dadmin, json={"reason": "数据源停用"})
    assert out.status_code == 200 and out.json()["withdrawn_reason"] == "数据源停用"
    assert client.get(url, headers=read).status_code == 403  # at once, whatever the grant rows say
    assert client.post(f"/api/v1/resources/{shared['code']}/withdraw", headers=dadmin,
                       json={"reason": "合并"}).status_code == 200
    events.dispatch(database)
    grants = {g["resource"]: g for g in client.get("/api/v1/share/grants", headers=shared["system"]).json()["items"]}
    assert grants[shared["open"]]["state"] == "revoked"
    requests = {r["resource"]: r for r in client.get("/api/v1/share/requests", headers=shared["system"]).json()["items"]}
    assert requests[shared["code"]]["status"] == "rejected" and "合并" in requests[shared["code"]]["reason"]
    assert all(not s["active"] for s in client.get("/api/v1/share/subscriptions", headers=shared["system"]).json()["items"])
    again = ask(client, shared["system"], shared["open"], ["姓名"])
    assert again.status_code == 409 and "数据源停用" in again.json()["detail"]
    load = client.post(f"/api/v1/resources/{shared['open']}/loads", headers=dadmin,
                       json={"mode": "incremental", "records": [{"公民身份号码": person, "姓名": "x"}]})
    assert load.status_code == 409
    listed = client.get("/api/v1/resources", headers=dadmin).json()
    codes = [r["code"] for r in (listed["items"] if isinstance(listed, dict) else listed)]
    assert shared["open"] not in codes  # out of the catalog's listing, still readable by code
    assert client.get(f"/api/v1/resources/{shared['open']}", headers=dadmin).json()["withdrawn_at"]
    assert {"resource.withdraw", "share.withdrawn"} <= set(_actions(database, "%withdr%"))
