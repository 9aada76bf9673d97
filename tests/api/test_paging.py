"""One paging scheme on every list, followed through its next links; unknown parameters refused."""

import pytest

from datong.db import paging
from tests.helpers import DEPT_CODE, resource_body

#: Every list endpoint of the API (the CKAN routes keep CKAN's own scheme).
LISTS = ["/api/v1/resources", "/api/v1/data-elements", "/api/v1/code-lists", "/api/v1/authoritative-sources",
         "/api/v1/departments", "/api/v1/users", "/api/v1/clients", "/api/v1/audit/events",
         "/api/v1/quality/departments", "/api/v1/quality/issues", "/api/v1/share/requests", "/api/v1/share/grants",
         "/api/v1/share/subscriptions", "/api/v1/share/deliveries"]


def _walk(client, url, headers) -> list[dict]:
    """Every item of a list, page by page along ``next``."""
    items, pages = [], 0
    while url:
        body = client.get(url, headers=headers).json()
        assert set(body) == {"items", "total", "total_exact", "limit", "offset", "next"}, body
        assert len(body["items"]) <= body["limit"]
        items += body["items"]
        url, pages = body["next"], pages + 1
        assert pages < 100
    return items


def test_every_list_answers_with_the_envelope(client, login):
    headers = {"sys": login("sys"), "aud": login("aud"), "boss": login("boss")}
    for path in LISTS:
        who = "aud" if "audit" in path else "sys" if path.endswith(("/users", "/clients")) else "boss"
        response = client.get(path, params={"limit": 1}, headers=headers[who])
        assert response.status_code == 200, (path, response.text)
        body = response.json()
        assert set(body) == {"items", "total", "total_exact", "limit", "offset", "next"}, path
        assert body["limit"] == 1 and body["offset"] == 0 and len(body["items"]) <= 1, path
        assert (body["next"] is not None) == (body["total"] > 1), path


def test_pages_of_users_cover_the_list_once_with_filters_kept(client, login, world):
    admin = login("sys")
    for n in range(7):
        created = client.post("/api/v1/users", headers=admin, json={
            "username": f"paged{n}", "display_name": f"分页{n}", "department_code": DEPT_CODE,
            "roles": ["clerk"], "password": "Paged#Pass2026"})
        assert created.status_code == 201, created.text
    everyone = client.get("/api/v1/users", params={"limit": 500}, headers=admin).json()
    walked = _walk(client, "/api/v1/users?limit=3", admin)
    assert [u["username"] for u in walked] == [u["username"] for u in everyone["items"]]
    assert len(walked) == everyone["total"] and everyone["next"] is None
    # the search and the department filter travel in the next link
    first = client.get("/api/v1/users", params={"q": "paged", "department": DEPT_CODE, "limit": 2}, headers=admin).json()
    assert first["total"] == 7 and "q=paged" in first["next"] and "department=" in first["next"]
    found = _walk(client, first["next"], admin)
    assert len(found) == 5 and all(u["username"].startswith("paged") for u in found)
    assert client.get("/api/v1/users", params={"q": "分页 3"}, headers=admin).json()["total"] == 1
    beyond = client.get("/api/v1/users", params={"offset": 1000}, headers=admin).json()
    assert beyond["items"] == [] and beyond["total"] == everyone["total"] and beyond["next"] is None


def test_the_audit_log_pages_by_its_cursor(client, login):
    for username in ("boss", "dadmin", "clerk1"):
        login(username)  # each sign-in is an event
    auditor = login("aud")
    first = client.get("/api/v1/audit/events", params={"limit": 2, "action": "auth.login"}, headers=auditor).json()
    assert first["total"] >= 4 and "before_seq=" in first["next"] and "action=auth.login" in first["next"]
    walked = first["items"] + _walk(client, first["next"], auditor)
    seqs = [e["seq"] for e in walked]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs) == first["total"]
    assert {e["action"] for e in walked} == {"auth.login"}


def test_a_long_list_counts_only_so_far_past_its_page_and_says_so(client, login, world, monkeypatch):
    """A list that grows without end (the audit log) is counted up to a point past the window:
    the total is then a lower bound, said so, and the pages still go on to the end."""
    admin = login("sys")
    for n in range(7):
        assert client.post("/api/v1/users", headers=admin, json={
            "username": f"counted{n}", "display_name": f"计数{n}", "department_code": DEPT_CODE,
            "roles": ["clerk"], "password": "Paged#Pass2026"}).status_code == 201
    exact = client.get("/api/v1/users", params={"q": "counted", "limit": 2}, headers=admin).json()
    assert exact["total"] == 7 and exact["total_exact"] is True
    monkeypatch.setattr(paging, "COUNT_UP_TO", 1)  # counted to one row past each window
    first = client.get("/api/v1/users", params={"q": "counted", "limit": 2}, headers=admin).json()
    assert first["total"] == 3 and first["total_exact"] is False and first["next"]
    assert [u["username"] for u in first["items"]] == [u["username"] for u in exact["items"]]
    walked = first["items"] + _walk(client, first["next"], admin)
    assert sorted(u["username"] for u in walked) == [f"counted{n}" for n in range(7)]
    last = client.get("/api/v1/users", params={"q": "counted", "limit": 2, "offset": 6}, headers=admin).json()
    assert last["total"] == 7 and last["total_exact"] is True and last["next"] is None


@pytest.mark.parametrize("path", ["/api/v1/users?departmnt=X", "/api/v1/resources?provder=X",
                                  "/api/v1/audit/events?limit=5&subjet=1"])
def test_an_unknown_query_parameter_is_refused_by_name(client, login, path):
    response = client.get(path, headers=login("aud" if "audit" in path else "sys"))
    assert response.status_code == 422, response.text
    wrong = path.rsplit("&", 1)[-1].split("?")[-1].split("=")[0]
    assert [e["field"] for e in response.json()["errors"]] == [wrong]


def test_known_parameters_pass_and_bounds_are_checked(client, login):
    admin = login("sys")
    assert client.get("/api/v1/users?lang=en&limit=5", headers=admin).status_code == 200
    assert client.get("/api/v1/users?limit=0", headers=admin).status_code == 422
    assert client.get("/api/v1/users?limit=501", headers=admin).status_code == 422
    assert client.get("/api/v1/users?offset=-1", headers=admin).status_code == 422
    # a governed read keeps its own parameters
    assert client.get("/api/v1/share/requests?status=pending", headers=login("boss")).status_code == 200
    assert client.get("/api/v1/share/requests?status=nonsense", headers=login("boss")).status_code == 422


def test_withdrawn_resources_are_listed_on_request(client, login):
    steward = login("dadmin")
    kept = client.post("/api/v1/resources", headers=steward, json=resource_body(DEPT_CODE, name="在用资源")).json()
    gone = client.post("/api/v1/resources", headers=steward, json=resource_body(DEPT_CODE, name="撤销资源")).json()
    answer = client.post(f"/api/v1/resources/{gone['code']}/withdraw", headers=steward, json={"reason": "停止采集"})
    assert answer.status_code == 200, answer.text

    def codes(**params):
        return {r["code"] for r in client.get("/api/v1/resources", params=params, headers=steward).json()["items"]}

    assert codes() == {kept["code"]}
    assert codes(withdrawn="true") == {gone["code"]}
    assert codes(withdrawn="any") == {kept["code"], gone["code"]}


def test_dcat_pages_are_hydra_views_with_a_next_link(client, login):
    from rdflib import Graph, Namespace
    from rdflib.namespace import DCAT, RDF

    hydra = Namespace("http://www.w3.org/ns/hydra/core#")
    steward = login("dadmin")
    for name in ("甲资源", "乙资源", "丙资源"):
        assert client.post("/api/v1/resources", headers=steward, json=resource_body(DEPT_CODE, name=name)).status_code == 201
    seen, url, pages = set(), "/api/v1/catalog/dcat?limit=2", 0
    while url:
        response = client.get(url, headers=steward)
        graph = Graph().parse(data=response.text, format="turtle")
        seen |= {str(d) for d in graph.subjects(RDF.type, DCAT.Dataset)}
        view = next(graph.subjects(RDF.type, hydra.PartialCollectionView))
        assert int(graph.value(view, hydra.totalItems)) == 3
        following = graph.value(view, hydra.next)
        assert (following is None) == ("link" not in response.headers)
        url = response.headers["link"].split(">")[0].lstrip("<") if following is not None else None
        pages += 1
    assert pages == 2 and len(seen) == 3
