"""一数一源: first claim is authoritative, a second is a conflict until the bureau decides."""

from tests.helpers import DEPT_CODE, OTHER_CODE


def test_claims_conflicts_and_decision(client, login):
    boss = login("boss")
    first = client.post("/api/v1/authoritative-sources", headers=login("dadmin"),
                        json={"element": "DE0004", "department": DEPT_CODE})
    assert first.status_code == 201 and first.json()["status"] == "authoritative"
    second = client.post("/api/v1/authoritative-sources", headers=boss,
                         json={"element": "DE0004", "department": OTHER_CODE})
    assert second.status_code == 201 and second.json()["status"] == "conflict"
    conflicts = client.get("/api/v1/authoritative-sources?status=conflict", headers=login("clerk1")).json()["items"]
    assert [c["department"] for c in conflicts] == [OTHER_CODE]
    refused = client.post(f"/api/v1/authoritative-sources/{second.json()['id']}/decision", headers=login("dadmin"),
                          json={"reason": "mine"})
    assert refused.status_code == 403
    decided = client.post(f"/api/v1/authoritative-sources/{second.json()['id']}/decision", headers=boss,
                          json={"reason": "民政部门掌握出生日期的原始登记"})
    assert decided.json()["status"] == "authoritative"
    claims = {c["department"]: c for c in client.get("/api/v1/authoritative-sources", headers=boss).json()["items"]}
    assert claims[DEPT_CODE]["status"] == "rejected" and claims[OTHER_CODE]["decided_by"] == "boss"


def test_authoritative_department_is_none_while_in_conflict(client, login, database):
    from datong.catalog.sources import authoritative_department

    client.post("/api/v1/authoritative-sources", headers=login("boss"), json={"element": "DE0002", "department": DEPT_CODE})
    with database.unit_of_work() as session:
        assert authoritative_department(session, "DE0002") == DEPT_CODE
    client.post("/api/v1/authoritative-sources", headers=login("boss"), json={"element": "DE0002", "department": OTHER_CODE})
    with database.unit_of_work() as session:
        assert authoritative_department(session, "DE0002") is None


def test_claims_are_checked(client, login):
    boss = {**login("boss"), "Accept-Language": "en"}
    not_registry = client.post("/api/v1/authoritative-sources", headers=boss,
                               json={"element": "DE0019", "department": DEPT_CODE})
    assert not_registry.status_code == 422 and "no base registry" in not_registry.json()["detail"]
    client.post("/api/v1/authoritative-sources", headers=boss, json={"element": "DE0001", "department": DEPT_CODE})
    again = client.post("/api/v1/authoritative-sources", headers=boss, json={"element": "DE0001", "department": DEPT_CODE})
    assert again.status_code == 409
    other = client.post("/api/v1/authoritative-sources", headers=login("dadmin"),
                        json={"element": "DE0002", "department": OTHER_CODE})
    assert other.status_code == 403
