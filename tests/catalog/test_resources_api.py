"""Resources, data elements and search over the API."""

import pytest

from tests.helpers import DEPT_CODE, OTHER_CODE, resource_body


@pytest.fixture
def steward(client, login, database, operator, world):
    from datong.security import service

    with database.unit_of_work() as session:
        service.create_user(session, operator, username="steward1", display_name="S", department_code=DEPT_CODE,
                            roles=["data_steward"], password="Test#Pass2026")
    return login("steward1")


def test_standard_dictionary_is_installed(client, login):
    elements = {e["identifier"]: e for e in client.get("/api/v1/data-elements", headers=login("clerk1")).json()["items"]}
    assert len(elements) >= 20
    assert elements["DE0001"]["name"] == "公民身份号码" and elements["DE0001"]["sensitivity"] == "highly_sensitive"
    assert elements["DE0003"]["code_list"] == "GB/T 2261.1"
    sex = next(c for c in client.get("/api/v1/code-lists", headers=login("clerk1")).json()["items"] if c["identifier"] == "GB/T 2261.1")
    assert [e["value"] for e in sex["entries"]] == ["0", "1", "2", "9"]


def test_steward_registers_a_resource_of_own_department(client, steward):
    response = client.post("/api/v1/resources", headers=steward, json=resource_body(DEPT_CODE))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["code"] == "101/000001" and body["version"] == 1 and body["attached"] is False
    items = {i["name"]: i for i in body["items"]}
    assert items["公民身份号码"]["sensitivity"] == "highly_sensitive"  # taken from the element
    assert items["公民身份号码"]["key"] == "person" and items["户籍地址"]["element"] is None
    second = client.post("/api/v1/resources", headers=steward, json=resource_body(DEPT_CODE, name="第二个"))
    assert second.json()["code"] == "101/000002"


def test_steward_cannot_register_for_another_department(client, steward):
    response = client.post("/api/v1/resources", headers={**steward, "Accept-Language": "en"},
                           json=resource_body(OTHER_CODE))
    assert response.status_code == 403
    assert "edit this department's catalog" in response.json()["detail"]


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"items": [{"name": "备注"}]}, "items[0]", "non-standard"),
    ({"items": [{"name": "公民身份号码", "element": "DE0001", "sensitivity": "public"}]}, "items[0]", "give the reason"),
    ({"items": [{"name": "A", "element": "DE9999"}]}, None, "DE9999"),
    ({"sharing_condition": ""}, "sharing_condition", "condition"),
    ({"items": [{"name": "A", "element": "DE0002"}, {"name": "A", "element": "DE0002"}]}, "items[1]", "twice"),
])
def test_bad_resources_are_explained(client, steward, change, field, words):
    response = client.post("/api/v1/resources", headers={**steward, "Accept-Language": "en"},
                           json=resource_body(DEPT_CODE, **change))
    assert response.status_code in (404, 422), response.text
    detail = response.json()["detail"]
    assert words in detail and (field is None or field in detail)


def test_unknown_fields_are_refused(client, steward):
    response = client.post("/api/v1/resources", headers=steward, json=resource_body(DEPT_CODE, colour="red"))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "colour"


def test_update_is_versioned_and_audited(client, steward, login):
    code = client.post("/api/v1/resources", headers=steward, json=resource_body(DEPT_CODE)).json()["code"]
    same = client.put(f"/api/v1/resources/{code}", headers=steward, json=resource_body(DEPT_CODE, code=code))
    assert same.json()["version"] == 1  # nothing changed, no new version
    changed = resource_body(DEPT_CODE, code=code, summary="更新后的摘要", sharing_type="unconditional")
    changed["items"].append({"name": "民族代码", "element": "DE0005"})
    response = client.put(f"/api/v1/resources/{code}", headers=steward, json=changed)
    assert response.status_code == 200 and response.json()["version"] == 2
    history = client.get(f"/api/v1/resources/{code}/history", headers=steward).json()["items"]
    assert [v["version"] for v in history] == [2, 1]
    assert set(history[0]["changes"]) == {"items", "sharing_type", "summary"}
    assert history[0]["changes"]["sharing_type"] == ["conditional", "unconditional"]
    assert history[0]["changed_by"] == "steward1"
    events = client.get("/api/v1/audit/events?action=resource.update", headers=login("aud")).json()["items"]
    assert events[0]["target"] == f"resource:{code}" and events[0]["detail"]["version"] == 2


def test_bureau_admin_edits_any_department(client, login, steward):
    code = client.post("/api/v1/resources", headers=steward, json=resource_body(DEPT_CODE)).json()["code"]
    response = client.put(f"/api/v1/resources/{code}", headers=login("boss"),
                          json=resource_body(DEPT_CODE, code=code, name="改名"))
    assert response.status_code == 200 and response.json()["name"] == "改名"
    assert client.put(f"/api/v1/resources/{code}", headers=login("clerk1"),
                      json=resource_body(DEPT_CODE, code=code)).status_code == 403


def test_chinese_search_finds_substrings_and_filters(client, steward, login):
    client.post("/api/v1/resources", headers=steward, json=resource_body(DEPT_CODE, name="人口基本信息"))
    client.post("/api/v1/resources", headers=steward,
                json=resource_body(DEPT_CODE, name="户籍人口统计", sharing_type="unconditional", open_type="open",
                                   keywords=["统计"]))
    client.post("/api/v1/resources", headers=steward,
                json=resource_body(DEPT_CODE, name="道路交通事故", summary="交通事故责任认定", theme="交通",
                                   keywords=["交通"]))
    headers = login("clerk1")
    found = client.get("/api/v1/resources", params={"q": "人口"}, headers=headers).json()
    assert {r["name"] for r in found["items"]} == {"人口基本信息", "户籍人口统计"} and found["total"] == 2
    assert client.get("/api/v1/resources", params={"q": "人口 统计"}, headers=headers).json()["total"] == 1
    by_item = client.get("/api/v1/resources", params={"q": "户籍地址"}, headers=headers).json()["total"]
    assert by_item == 3  # data item names are searched too
    assert client.get("/api/v1/resources", params={"open_type": "open"}, headers=headers).json()["total"] == 1
    assert client.get("/api/v1/resources", params={"sharing_type": "conditional", "attached": "false"},
                      headers=headers).json()["total"] == 2
    assert client.get("/api/v1/resources", params={"q": "100%"}, headers=headers).json()["total"] == 0
    page = client.get("/api/v1/resources", params={"limit": 2, "offset": 2}, headers=headers).json()
    assert len(page["items"]) == 1 and page["total"] == 3


def test_bureau_extends_the_dictionary(client, login):
    headers = login("boss")
    code_list = {"identifier": "DT-BLOOD", "name": "血型代码", "entries": [{"value": "1", "label": "A型"},
                                                                       {"value": "2", "label": "B型"}]}
    assert client.post("/api/v1/code-lists", headers=headers, json=code_list).status_code == 201
    element = {"identifier": "DE0100", "name": "血型", "name_en": "blood type", "data_type": "string", "length": 1,
               "code_list": "DT-BLOOD", "rule": "code_list", "sensitivity": "sensitive"}
    assert client.post("/api/v1/data-elements", headers=headers, json=element).status_code == 201
    assert client.post("/api/v1/data-elements", headers=headers, json=element).status_code == 409
    assert client.post("/api/v1/data-elements", headers=login("dadmin"),
                       json={**element, "identifier": "DE0101", "name": "x"}).status_code == 403


def test_dcat_in_turtle_and_json_ld(client, steward):
    from rdflib import Graph
    from rdflib.namespace import DCAT, DCTERMS, RDF

    code = client.post("/api/v1/resources", headers=steward, json=resource_body(DEPT_CODE)).json()["code"]
    turtle = client.get("/api/v1/catalog/dcat?format=ttl", headers=steward)
    assert turtle.headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=turtle.text, format="turtle")
    datasets = list(graph.subjects(RDF.type, DCAT.Dataset))
    assert len(datasets) == 1
    assert str(graph.value(datasets[0], DCTERMS.identifier)) == code
    assert str(graph.value(datasets[0], DCTERMS.title)) == "户籍人口基本信息"
    publisher = graph.value(datasets[0], DCTERMS.publisher)
    assert str(graph.value(publisher, DCTERMS.identifier)) == DEPT_CODE
    assert {str(k) for k in graph.objects(datasets[0], DCAT.keyword)} == {"户籍", "人口"}
    assert str(graph.value(datasets[0], DCTERMS.accrualPeriodicity)) == "http://purl.org/cld/freq/daily"
    jsonld = client.get("/api/v1/catalog/dcat?format=jsonld", headers=steward)
    assert len(list(Graph().parse(data=jsonld.text, format="json-ld").subjects(RDF.type, DCAT.Dataset))) == 1
