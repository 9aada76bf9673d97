"""Request → approval → query → revoke → refusal, masking, the 一号 view, purpose and rate limits."""

from urllib.parse import quote

import pytest
from sqlalchemy import select

from datong.catalog import service as catalog
from datong.catalog.schemas import ResourceIn
from datong.ingest.flows import run_load
from datong.ingest.sources import Source
from datong.security import service as identity
from datong.security.models import AuditEvent
from datong.security import masking
from tests.helpers import DEPT_CODE, OTHER_CODE, PASSWORD, POPULATION_HEADER, POPULATION_ITEMS, population_rows, \
    resource_body
from tests.ingest.conftest import write_csv

ITEMS = [*POPULATION_ITEMS, {"name": "联系电话", "element": "DE0009"}]
HEADER = [*POPULATION_HEADER, "联系电话"]


@pytest.fixture
def shared(database, operator, world, tmp_path, client):
    """公安 provides 常住人口信息 (有条件共享) with data loaded; 民政 consumes with a system and an admin."""
    rows = [[*r, f"1381234{n:04d}"] for n, r in enumerate(population_rows(5))]
    with database.unit_of_work() as session:
        code = catalog.create_resource(session, operator, data=ResourceIn.model_validate(
            resource_body(DEPT_CODE, name="常住人口信息", items=ITEMS))).code
        open_code = catalog.create_resource(session, operator, data=ResourceIn.model_validate(
            resource_body(DEPT_CODE, name="人口统计", items=ITEMS, sharing_type="unconditional",
                          sharing_methods=["api", "subscription"]))).code
        closed = catalog.create_resource(session, operator, data=ResourceIn.model_validate(
            resource_body(DEPT_CODE, name="在逃人员信息", items=ITEMS, sharing_type="none",
                          sharing_condition="涉及国家安全，依法不予共享"))).code
        identity.create_user(session, operator, username="mzadmin", display_name="民政管理员",
                             department_code=OTHER_CODE, roles=["dept_admin"], password=PASSWORD)
        system, secret = identity.create_client(session, operator, department_code=OTHER_CODE, name="社会救助系统")
        client_id = system.client_id
    for resource in (code, open_code):
        run_load(database, operator, resource_code=resource, mode="full",
                 source=Source.from_path(write_csv(tmp_path / f"{resource.replace('/', '_')}.csv", HEADER, rows)))
    token = client.post("/api/v1/auth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                    "client_secret": secret}).json()["access_token"]
    return {"code": code, "open": open_code, "closed": closed, "rows": rows, "client_id": client_id,
            "system": {"Authorization": f"Bearer {token}"}}


def ask(client, headers, resource, items, **extra):
    return client.post("/api/v1/share/requests", headers=headers, json={
        "resource": resource, "items": items, "purpose": "最低生活保障资格核查", "legal_basis": "《社会救助暂行办法》第十一条",
        "days": 90, **extra})


def test_request_approve_query_revoke_refuse(client, login, shared, database):
    person = shared["rows"][0]
    url = f"/api/v1/share/{shared['code']}/records/{person[0]}"
    read = {**shared["system"], "X-Purpose": quote("最低生活保障资格核查"), "X-Case-No": "MZ2026-0001"}
    denied = client.get(url, headers=read)
    assert denied.status_code == 403 and "常住人口信息" in denied.json()["detail"]  # no grant yet

    asked = ask(client, shared["system"], shared["code"], ["公民身份号码", "姓名", "住址", "联系电话"])
    assert asked.status_code == 201 and asked.json()["status"] == "pending" and asked.json()["decide_by"]
    request_id = asked.json()["id"]
    assert client.post(f"/api/v1/share/requests/{request_id}/decision", headers=login("mzadmin"),
                       json={"approve": True}).status_code == 403  # only the provider decides
    approved = client.post(f"/api/v1/share/requests/{request_id}/decision", headers=login("dadmin"),
                           json={"approve": True, "items": ["公民身份号码", "姓名", "住址"], "days": 30})
    assert approved.json()["status"] == "approved"
    grant = client.get("/api/v1/share/grants", headers=shared["system"]).json()["items"][0]
    assert grant["items"] == ["公民身份号码", "姓名", "住址"] and grant["state"] == "active"
    assert grant["plain_items"] == ["姓名", "住址"]  # the ID number is highly sensitive: masked by default

    answer = client.get(url, headers=read)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["record"] == {"key": person[0], "公民身份号码": masking.id_number(person[0]), "姓名": person[1],
                              "住址": person[4]}
    assert body["source"] == "测试省公安厅" and body["last_updated"]
    outside = client.post(f"/api/v1/share/{shared['code']}/query", headers=read,
                          json={"keys": [person[0]], "items": ["联系电话"]})
    assert outside.status_code == 403 and "联系电话" in outside.json()["detail"]

    revoked = client.post(f"/api/v1/share/grants/{grant['id']}/revoke", headers=login("dadmin"),
                          json={"reason": "救助核查已结束"})
    assert revoked.json()["state"] == "revoked"
    assert client.get(url, headers=read).status_code == 403

    with database.unit_of_work() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "share.read")
                                      .order_by(AuditEvent.seq)))
    assert [e.outcome for e in events] == ["denied", "success", "denied", "denied"]
    success = events[1]
    assert success.subjects == [person[0]] and success.purpose == "最低生活保障资格核查"
    assert success.case_number == "MZ2026-0001" and success.detail["grant"] == grant["id"]
    seen = client.get("/api/v1/audit/events", params={"subject": person[0]}, headers=login("aud")).json()["items"]
    assert any(e["action"] == "share.read" and e["case_number"] == "MZ2026-0001" for e in seen)


def test_unconditional_is_granted_at_once_and_none_is_refused(client, shared, database):
    now = ask(client, shared["system"], shared["open"], ["姓名", "出生日期"])
    assert now.status_code == 201 and now.json()["status"] == "approved"
    refused = ask(client, shared["system"], shared["closed"], ["姓名"])
    assert refused.status_code == 403 and "涉及国家安全" in refused.json()["detail"]
    with database.unit_of_work() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "share.request")
                                .order_by(AuditEvent.seq.desc())).first()
        assert event.outcome == "denied"


def test_batch_query_subject_view_purpose_and_rate_limit(client, app, shared, login):
    keys = [r[0] for r in shared["rows"]]
    assert ask(client, shared["system"], shared["open"], ["公民身份号码", "姓名", "出生日期", "联系电话"]).status_code == 201
    headers = {**shared["system"], "X-Purpose": quote("资格核查")}
    batch = client.post(f"/api/v1/share/{shared['open']}/query", headers=headers, json={"keys": [*keys[:3], "1" * 18]})
    records = batch.json()["records"]
    assert [r["key"] for r in records] == keys[:3] and batch.json()["missing"] == ["1" * 18]
    assert records[0]["出生日期"] == shared["rows"][0][3]  # sensitive: plain by default
    assert records[0]["联系电话"] == shared["rows"][0][5]
    no_purpose = client.post(f"/api/v1/share/{shared['open']}/query", headers=shared["system"], json={"keys": keys})
    assert no_purpose.status_code == 400 and "X-Purpose" in no_purpose.json()["detail"]

    view = client.get(f"/api/v1/share/subjects/{keys[0]}", headers=headers).json()
    assert [g["resource"] for g in view["resources"]] == [shared["open"]]  # no grant on the other one
    assert view["resources"][0]["records"][0]["姓名"] == shared["rows"][0][1]

    app.state.settings.share_rate_per_minute = 2
    statuses = [client.post(f"/api/v1/share/{shared['open']}/query", headers=headers, json={"keys": keys[:1]})
                for _ in range(4)]
    assert statuses[-1].status_code == 429 and int(statuses[-1].headers["Retry-After"]) >= 1


@pytest.mark.parametrize("function, value, expected", [
    ("id_number", "330106198001010011", "330106********0011"),
    ("name", "张三丰", "张**"), ("name", "欧阳修", "欧阳*"),
    ("phone", "13812345678", "138****5678"),
    ("address", "浙江省杭州市西湖区文三路100号", "浙江省杭州市西湖区***"),
    ("address", "新疆维吾尔自治区乌鲁木齐市天山区解放南路1号", "新疆维吾尔自治区乌鲁木齐市天山区***"),
    ("year_only", "1980-01-02", "1980"),
    ("redact", "任何内容", "***"),
])
def test_masking_functions(function, value, expected):
    assert masking.FUNCTIONS[function](value) == expected


def test_masking_follows_sensitivity():
    assert masking.policy_for("DE0001", "highly_sensitive") == "id_number"
    assert masking.policy_for("DE0016", "highly_sensitive") == "redact"
    assert masking.policy_for("DE0009", "sensitive") == "phone"
    assert masking.policy_for("DE0011", "public") is None and masking.policy_for(None, "internal") is None
    assert masking.mask(None, "name") is None


@pytest.mark.parametrize("function, value", [
    ("id_number", "330106198001010011"), ("id_number", "123"), ("name", "张三丰"), ("name", "欧阳修"), ("name", "李"),
    ("phone", "13812345678"), ("phone", "138-1234-5678"), ("phone", "123"),
    ("address", "浙江省杭州市西湖区文三路100号"), ("address", "新疆维吾尔自治区乌鲁木齐市天山区解放南路1号"),
    ("address", "北京市海淀区"), ("address", "某某路1号"), ("address", "浙江省桐庐县城南街道"), ("address", "广东省东莞市南城街道"),
    ("year_only", "1980-01-02"), ("year_only", "x"), ("hash", "abc"), ("redact", "z"),
])
def test_the_sql_masking_agrees_with_python(function, value):
    from datong.warehouse.engine import connect

    con = connect()
    assert con.execute(f"SELECT {masking.sql_for(function, 'x')} FROM (SELECT ? AS x)", [value]).fetchone()[0] == \
        masking.FUNCTIONS[function](value)


def test_file_export_is_masked_and_audited(client, shared, database):
    import csv
    import io

    from datong.catalog.models import Resource
    from datong.security.models import AuditEvent

    url = f"/api/v1/share/{shared['open']}/export"
    headers = {**shared["system"], "X-Purpose": "x", "Accept-Language": "zh-CN"}
    assert client.get(url, headers=headers).status_code == 403  # no grant yet
    ask(client, shared["system"], shared["open"], ["公民身份号码", "姓名"])
    not_file = client.get(url, headers=headers)
    assert not_file.status_code == 403 and "文件" in not_file.json()["detail"]
    with database.unit_of_work() as session:  # the provider adds file sharing to the resource
        session.scalar(select(Resource).where(Resource.code == shared["open"])).sharing_methods = ["api", "file"]
    answer = client.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8"))))
    assert len(rows) == 5 and set(rows[0]) == {"公民身份号码", "姓名"}
    assert {r["公民身份号码"] for r in rows} == {masking.id_number(r[0]) for r in shared["rows"]}
    assert {r["姓名"] for r in rows} == {r[1] for r in shared["rows"]}  # sensitive: plain by default
    with database.unit_of_work() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "share.export",
                                                         AuditEvent.outcome == "success")).one()
        assert event.detail["records"] == 5 and event.purpose == "x"


def test_masking_is_configurable_per_element_and_level(client, shared, database, operator):
    from datong.security.models import ApiClient
    from datong.security.service import actor_for_client
    from datong.settings import Settings
    from datong.sharing import service

    assert masking.policy_for("DE0009", "sensitive", {"DE0009": "redact"}) == "redact"
    assert masking.policy_for("DE0001", "highly_sensitive", {"highly_sensitive": "hash"}) == "hash"
    assert masking.policy_for("DE0001", "highly_sensitive", {"highly_sensitive": "hash", "DE0001": "plain"}) is None
    with pytest.raises(ValueError):
        Settings(masking={"DE0001": "scramble"})
    ask(client, shared["system"], shared["open"], ["公民身份号码", "姓名"])
    with database.unit_of_work() as session:
        session.info["masking"] = {"DE0002": "name", "highly_sensitive": "hash"}
        actor = actor_for_client(session.scalar(select(ApiClient).where(ApiClient.client_id == shared["client_id"])))
        found = service.read_records(session, actor, resource_code=shared["open"], keys=[shared["rows"][0][0]],
                                     purpose="测试")["records"][0]
    assert found["公民身份号码"] == masking.hashed(shared["rows"][0][0])
    assert found["姓名"] == shared["rows"][0][1]  # granted in plain text: the grant decides
