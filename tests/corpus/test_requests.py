"""Hostile requests (not files): odd upload names, deep JSON, numbers past 64 bits, a quality run on a
resource without a key. Each is a 4xx problem document, never a 500, and changes nothing."""

from __future__ import annotations

import pytest

from datong.catalog import service as catalog
from datong.catalog.schemas import ResourceIn
from tests.helpers import DEPT_CODE, POPULATION_HEADER, population_rows, resource_body
from tests.ingest.conftest import population  # noqa: F401 - the fixture

TOO_BIG = 2**63
CSV = ("\n".join(",".join(r) for r in [POPULATION_HEADER, *population_rows(2)]) + "\n").encode()


@pytest.mark.parametrize("filename, status, fragment", [
    (".", 422, "files ending in (none) are not read"),
    ("..", 422, "files ending in (none) are not read"),
    ("../../etc/passwd", 422, "files ending in (none) are not read"),
    ("人" * 300 + ".csv", 201, None),
    ("a\x00b.csv", 201, None),
])
def test_upload_names(client, login, population, filename, status, fragment):
    response = client.post(f"/api/v1/resources/{population}/loads", headers=login("dadmin") | {"Accept-Language": "en"},
                           files={"file": (filename, CSV)}, data={"mode": "incremental"})
    assert response.status_code == status, response.text
    if fragment:
        assert fragment in response.json()["detail"]
    else:
        assert response.json()["inserted"] == 2


def test_deep_json_load_body_is_400(client, login, population):
    body = '{"mode": "incremental", "records": [' + "[" * 50_000 + "]" * 50_000 + "]}"
    response = client.post(f"/api/v1/resources/{population}/loads", content=body,
                           headers=login("dadmin") | {"Content-Type": "application/json", "Accept-Language": "en"})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "bad_json" and "more than 64 deep" in response.json()["detail"]


def test_json_load_body_errors_are_named(client, login, population):
    headers = login("dadmin") | {"Content-Type": "application/json"}
    broken = client.post(f"/api/v1/resources/{population}/loads", content=b'{"records": [', headers=headers)
    assert broken.status_code == 400 and broken.json()["code"] == "bad_json"
    wrong = client.post(f"/api/v1/resources/{population}/loads", json={"records": [], "extra": 1}, headers=headers)
    assert wrong.status_code == 422
    assert {e["field"] for e in wrong.json()["errors"]} == {"records", "extra"}


def test_deep_json_in_any_body_is_a_problem_not_a_500(client, login):
    body = '{"resource": ' + "[" * 50_000 + "]" * 50_000 + "}"
    response = client.post("/api/v1/share/requests", content=body,
                           headers=login("clerk1") | {"Content-Type": "application/json"})
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("method, path, body", [
    ("get", f"/api/v1/loads/{TOO_BIG}", None),
    ("get", f"/api/v1/loads/{TOO_BIG}/rejections", None),
    ("get", f"/api/v1/quality/issues/{TOO_BIG}", None),
    ("post", f"/api/v1/quality/issues/{TOO_BIG}", {"state": "closed"}),
    ("post", f"/api/v1/share/grants/{TOO_BIG}/revoke", {"reason": "x"}),
    ("post", f"/api/v1/share/requests/{TOO_BIG}/decision", {"approve": False, "reason": "x"}),
    ("post", f"/api/v1/share/deliveries/{TOO_BIG}/retry", None),
    ("post", f"/api/v1/authoritative-sources/{TOO_BIG}/decision", {"approve": True}),
    ("post", "/api/v1/share/subscriptions", {"grant_id": TOO_BIG, "callback_url": "https://example.org/hook"}),
    ("get", f"/api/v1/audit/events?before_seq={TOO_BIG}", None),
    ("get", f"/api/v1/loads/{-1}", None),
])
def test_ids_past_64_bits_are_422(client, login, method, path, body):
    response = client.request(method.upper(), path, json=body, headers=login("boss"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_quality_run_without_a_key_item_is_422(client, login, database, operator, world):
    items = [{"name": "姓名", "element": "DE0002"}, {"name": "住址", "element": "DE0008"}]
    with database.unit_of_work() as session:
        code = catalog.create_resource(session, operator, data=ResourceIn.model_validate(
            resource_body(DEPT_CODE, name="无键资源", items=items))).code
    response = client.post(f"/api/v1/resources/{code}/quality/run", headers=login("dadmin") | {"Accept-Language": "en"})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "no_key_item" and "mark the items that identify a record" in \
        response.json()["detail"]
