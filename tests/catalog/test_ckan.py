"""The CKAN Action API, driven by ckanapi (the client CKAN's own tools use) against a served hub."""

import ckanapi
import pytest
import requests

from datong.catalog import service
from datong.catalog.schemas import ResourceIn
from datong.opendata import service as opendata
from datong.security import service as identity
from tests.helpers import DEPT_CODE, OTHER_CODE, resource_body


@pytest.fixture
def catalog(database, operator, world):
    """Three resources: one published on the open-data portal, two kept to government."""
    bodies = [
        resource_body(DEPT_CODE, name="户籍人口统计", open_type="open", sharing_type="unconditional",
                      keywords=["统计", "人口"], summary="分区县户籍人口数",
                      items=[{"name": "行政区划代码", "element": "DE0007"}, {"name": "户籍人口数", "note": "非标准：统计值"}]),
        resource_body(DEPT_CODE, name="人口基本信息"),
        resource_body(OTHER_CODE, name="婚姻登记信息", keywords=["婚姻"], summary="结婚和离婚登记",
                      theme="婚姻"),
    ]
    with database.unit_of_work() as session:
        codes = [service.create_resource(session, operator, data=ResourceIn.model_validate(b)).code for b in bodies]
        opendata.publish(session, operator, resource_code=codes[0])
        client, secret = identity.create_client(session, operator, department_code=OTHER_CODE, name="婚姻登记系统")
        client_id = client.client_id
    return {"codes": codes, "client_id": client_id, "secret": secret}


def _token(live_server, catalog) -> str:
    response = requests.post(f"{live_server}/api/v1/auth/token", timeout=10,
                             data={"grant_type": "client_credentials", "client_id": catalog["client_id"],
                                   "client_secret": catalog["secret"]})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_anonymous_ckan_clients_see_published_datasets_only(live_server, catalog):
    open_code = catalog["codes"][0]
    with ckanapi.RemoteCKAN(live_server) as ckan:
        assert ckan.action.status_show()["ckan_version"].startswith("2.")
        assert ckan.action.package_list() == [open_code.lower().replace("/", "-")]
        dataset = ckan.action.package_show(id=open_code)
        assert dataset["title"] == "户籍人口统计" and dataset["organization"]["title"] == "测试省公安厅"
        assert {t["name"] for t in dataset["tags"]} == {"统计", "人口"}
        assert ckan.action.organization_list() == [DEPT_CODE.lower()]
        with pytest.raises(ckanapi.NotFound):
            ckan.action.package_show(id=catalog["codes"][1])  # exists, but not open
        with pytest.raises(ckanapi.NotFound):
            ckan.action.organization_show(id=OTHER_CODE)  # nothing of theirs is open
        found = ckan.action.package_search(q="人口")
        assert found["count"] == 1 and found["results"][0]["name"] == dataset["name"]


def test_a_token_sent_bare_or_as_bearer_shows_the_government_catalog(live_server, catalog):
    token = _token(live_server, catalog)
    with ckanapi.RemoteCKAN(live_server, apikey=token) as ckan:  # ckanapi sends the bare token
        assert len(ckan.action.package_list()) == 3
        found = ckan.action.package_search(q="人口", rows=1)
        assert found["count"] == 2 and len(found["results"]) == 1
        assert ckan.action.package_search(q="人口", rows=1, start=1)["results"][0]["title"] != found["results"][0]["title"]
        assert ckan.action.package_search(fq=f"organization:{OTHER_CODE.lower()}")["results"][0]["title"] == "婚姻登记信息"
        organization = ckan.action.organization_show(id=OTHER_CODE, include_datasets=True)
        assert organization["package_count"] == 1 and organization["packages"][0]["title"] == "婚姻登记信息"
        assert {o["title"] for o in ckan.action.organization_list(all_fields=True)} >= {"测试省公安厅", "测试省民政厅"}
    listed = requests.get(f"{live_server}/api/3/action/package_list", params={"limit": 2, "offset": 1}, timeout=10,
                          headers={"Authorization": f"Bearer {token}"})
    assert listed.json()["success"] is True and len(listed.json()["result"]) == 2


def test_bad_tokens_parameters_and_actions_get_ckan_errors(live_server, catalog):
    with ckanapi.RemoteCKAN(live_server, apikey="not-a-token") as ckan, pytest.raises(ckanapi.NotAuthorized):
        ckan.action.package_list()
    with ckanapi.RemoteCKAN(live_server) as ckan:
        with pytest.raises(ckanapi.ValidationError) as invalid:
            ckan.action.package_search(rows="many")
        assert invalid.value.error_dict["rows"] == ["Invalid integer"]
    answer = requests.post(f"{live_server}/api/3/action/package_create", json={"name": "x"}, timeout=10)
    assert answer.status_code == 400 and answer.json()["success"] is False
    assert "package_create" in answer.json()["error"]["message"]


def test_search_filters_are_exact_and_counted_in_the_database(live_server, catalog):
    token = _token(live_server, catalog)
    open_code, _closed, marriage = catalog["codes"]
    with ckanapi.RemoteCKAN(live_server, apikey=token) as ckan:
        assert [r["id"] for r in ckan.action.package_search(fq="tags:婚姻")["results"]] == [marriage]
        assert ckan.action.package_search(fq="tags:婚")["count"] == 0  # a tag matches whole, not by substring
        assert ckan.action.package_search(fq='tags:"人口" res_format:数据库')["count"] == 2  # the first two
        assert ckan.action.package_search(fq="res_format:CSV")["count"] == 0
        assert ckan.action.package_search(fq="organization:91000000000000000x")["count"] == 0  # no such department
        name = ckan.action.package_show(id=marriage)["name"]
        assert [r["id"] for r in ckan.action.package_search(fq=f"name:{name}")["results"]] == [marriage]
        assert ckan.action.package_show(id=name)["id"] == marriage  # by its CKAN name as well as its code
        paged = [ckan.action.package_search(rows=1, start=n)["results"][0]["id"] for n in range(3)]
        assert sorted(paged) == sorted(catalog["codes"]) and ckan.action.package_search(rows=1)["count"] == 3
    with ckanapi.RemoteCKAN(live_server) as ckan:  # anonymous: only what is open, filters or not
        assert ckan.action.package_search(fq="tags:婚姻")["count"] == 0
        assert [r["id"] for r in ckan.action.package_search(fq="tags:人口")["results"]] == [open_code]
