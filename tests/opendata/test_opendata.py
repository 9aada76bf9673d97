"""The open-data portal through its API: what may be published, the files, keys and limits, usage,
DCAT-AP with SHACL, the metadata score with its link check, and the CKAN API for harvesters."""

import io
import json
from collections import Counter
from datetime import date

import ckanapi
import polars as pl
from openpyxl import load_workbook
from rdflib import Graph, Literal
from rdflib.namespace import DCAT, RDF
from sqlalchemy import func, select

from datong import events
from datong.opendata import dcat, files, score
from datong.opendata.models import OpenDataset
from datong.opendata.service import slug
from datong.security.models import AuditEvent
from tests.opendata.conftest import COMPANY_HEADER, company_rows, load_csv

API = "/api/v1/open"


def publish(client, headers, resource, **body):
    return client.post(f"{API}/datasets", headers=headers, json={"resource": resource, **body})


def test_records_with_personal_data_are_refused_at_publication_and_nothing_is_written(
        client, login, database, open_world):
    boss = login("boss")
    answer = publish(client, boss, open_world["codes"]["people"])
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == "personal_data"
    assert "公民身份号码" in problem["detail"] and "出生日期" in problem["detail"] and "统计" in problem["detail"]
    with database.reading() as session:
        assert session.scalar(select(func.count(OpenDataset.id))) == 0
        refused = session.scalars(select(AuditEvent).where(AuditEvent.action == "open.publish")).all()
    assert [e.outcome for e in refused] == ["refused"]
    assert "公民身份号码" in refused[0].detail["items"]
    english = publish(client, boss | {"Accept-Language": "en"}, open_world["codes"]["people"]).json()
    assert "personal or sensitive data" in english["detail"]


def test_who_may_publish(client, login, open_world):
    assert publish(client, login("clerk1"), open_world["codes"]["companies"]).status_code == 403
    assert publish(client, login("dadmin"), open_world["codes"]["companies"]).status_code == 201  # its own department
    again = publish(client, login("boss"), open_world["codes"]["companies"])
    assert again.status_code == 409


def test_statistics_count_people_by_division_and_age_band_and_withhold_small_groups(client, login, open_world):
    answer = publish(client, login("boss"), open_world["codes"]["people"], kind="statistics")
    assert answer.status_code == 201, answer.text
    dataset = answer.json()
    assert dataset["kind"] == "statistics" and dataset["access"] == "open"
    assert [i["name"] for i in dataset["items"]] == ["行政区划代码", "年龄段", "人数"]
    today = date.today()
    expected = Counter()
    for row in open_world["people"]:
        birth = date.fromisoformat(row[3])
        age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        band = next(label for low, high, label in files.AGE_BANDS if low <= age <= high)
        expected[(row[0][:6], band)] += 1
    got = client.get(f"{API}/datasets/{dataset['code']}/records", params={"limit": 100}).json()
    counts = {(r["行政区划代码"], r["年龄段"]): r["人数"] for r in got["records"]}
    assert set(counts) == set(expected)
    for group, n in expected.items():
        assert counts[group] == (n if n >= files.SUPPRESS_BELOW else None), group
    assert counts[("330108", "35-59")] is None  # three people: withheld
    # No row of the published file names a person.
    csv_text = client.get(f"{API}/datasets/{dataset['code']}/download.csv").text
    assert all(row[0] not in csv_text and row[1] not in csv_text for row in open_world["people"])


def test_every_format_holds_the_loaded_records(client, login, open_world):
    code = publish(client, login("boss"), open_world["codes"]["companies"], licence="CC0-1.0").json()["code"]
    assert code == slug(open_world["codes"]["companies"])
    expected = sorted(tuple(r) for r in open_world["companies"])
    csv = client.get(f"{API}/datasets/{code}/download.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert f'{code}.csv' in csv.headers["content-disposition"]
    frame = pl.read_csv(io.BytesIO(csv.content), infer_schema=False)
    assert frame.columns == COMPANY_HEADER and sorted(frame.rows()) == expected
    parquet = pl.read_parquet(io.BytesIO(client.get(f"{API}/datasets/{code}/download.parquet").content))
    assert sorted(parquet.rows()) == expected
    rows = json.loads(client.get(f"{API}/datasets/{code}/download.json").content)
    assert sorted(tuple(r[c] for c in COMPANY_HEADER) for r in rows) == expected
    book = load_workbook(io.BytesIO(client.get(f"{API}/datasets/{code}/download.xlsx").content), read_only=True)
    sheet = list(book.active.iter_rows(values_only=True))
    assert list(sheet[0]) == COMPANY_HEADER and sorted(tuple(r) for r in sheet[1:]) == expected
    page = client.get(f"{API}/datasets/{code}/records", params={"limit": 5, "offset": 10}).json()
    assert page["total"] == 12 and len(page["records"]) == 2
    assert client.get(f"{API}/datasets/{code}/download.pdf").status_code == 422
    shown = client.get(f"{API}/datasets/{code}").json()
    assert shown["licence"] == "CC0-1.0" and shown["rows"] == 12
    assert {d["format"] for d in shown["distributions"]} == {"csv", "xlsx", "json", "parquet"}
    assert all(d["byte_size"] > 0 for d in shown["distributions"])


def test_a_new_load_rebuilds_the_files_after_the_event(client, login, database, operator, open_world, tmp_path):
    code = publish(client, login("boss"), open_world["codes"]["companies"]).json()["code"]
    load_csv(database, operator, open_world["codes"]["companies"], tmp_path, COMPANY_HEADER, company_rows(20), "more.csv")
    events.dispatch(database)  # the worker's round: the load event, then the stale datasets' files
    page = client.get(f"{API}/datasets/{code}/records", params={"limit": 1}).json()
    assert page["total"] == 20
    with database.reading() as session:
        dataset = session.scalar(select(OpenDataset).where(OpenDataset.code == code))
        assert files.stale(session) == []
    folders = list((database.data_dir / "opendata" / code).glob("load-*"))
    assert [f.name for f in folders] == [f"load-{dataset.load_id}"]  # the older build is gone


def test_conditional_datasets_need_an_approved_key_which_the_bureau_can_revoke(client, login, open_world):
    boss = login("boss")
    code = publish(client, boss, open_world["codes"]["permits"]).json()["code"]
    assert client.get(f"{API}/datasets/{code}").status_code == 200  # the metadata is public
    refused = client.get(f"{API}/datasets/{code}/records")
    assert refused.status_code == 401 and refused.json()["code"] == "api_key_needed"
    application = client.post(f"{API}/applications", json={"applicant": "李研究", "organisation": "某大学", "email": "li@example.edu.cn",
                                                   "purpose": "研究市场主体许可的地域分布", "datasets": [code]})
    assert application.status_code == 201 and application.json()["status"] == "pending"
    unknown = client.post(f"{API}/applications", json={"applicant": "x", "email": "x@example.cn", "purpose": "a purpose text",
                                               "datasets": ["no-such-dataset"]})
    assert unknown.status_code == 422 and "no-such-dataset" in unknown.json()["detail"]
    assert client.get(f"{API}/keys", headers=login("dadmin")).status_code == 403
    pending = client.get(f"{API}/keys", headers=boss, params={"status": "pending"}).json()["applications"]
    assert [a["applicant"] for a in pending] == ["李研究"]
    approved = client.post(f"{API}/keys/{pending[0]['id']}/approve", headers=boss, json={"per_minute": 2})
    key = approved.json()["key"]
    assert approved.status_code == 200 and key.startswith("dtk_")
    assert key not in json.dumps(client.get(f"{API}/keys", headers=boss).json())  # shown once, kept as a hash
    assert client.get(f"{API}/datasets/{code}/records", headers={"X-Api-Key": "dtk_wrong"}).status_code == 403
    with_key = client.get(f"{API}/datasets/{code}/records", headers={"X-Api-Key": key})
    assert with_key.status_code == 200 and with_key.json()["total"] == 6
    assert client.get(f"{API}/datasets/{code}/download.csv", headers={"X-Api-Key": key}).status_code == 200
    limited = client.get(f"{API}/datasets/{code}/records", headers={"X-Api-Key": key})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    revoked = client.post(f"{API}/keys/{pending[0]['id']}/revoke", headers=boss, json={"reason": "用途不符"})
    assert revoked.json()["status"] == "revoked"
    assert client.get(f"{API}/datasets/{code}/records", headers={"X-Api-Key": key}).status_code == 403


def test_anonymous_calls_are_rate_limited_by_address(client, login, app, open_world):
    code = publish(client, login("boss"), open_world["codes"]["companies"]).json()["code"]
    app.state.settings.open_rate_per_minute = 2
    answers = [client.get(f"{API}/datasets/{code}/records").status_code for _ in range(3)]
    assert answers == [200, 200, 429]


def test_key_applications_are_throttled_per_address(client, login, app, open_world):
    code = publish(client, login("boss"), open_world["codes"]["companies"]).json()["code"]
    app.state.settings.open_applications_per_hour = 2
    body = {"applicant": "王", "email": "w@example.cn", "purpose": "做一个企业查询小程序", "datasets": [code]}
    assert [client.post(f"{API}/applications", json=body).status_code for _ in range(3)] == [201, 201, 429]


def test_usage_is_counted_in_memory_and_written_in_one_short_write(client, login, app, database, open_world):
    code = publish(client, login("boss"), open_world["codes"]["companies"]).json()["code"]
    for _ in range(3):
        client.get(f"{API}/datasets/{code}")
    for fmt in ("csv", "json"):
        client.get(f"{API}/datasets/{code}/download.{fmt}")
    client.head(f"{API}/datasets/{code}/download.csv")  # a link check is not a download
    client.get(f"{API}/datasets/{code}/records")
    assert app.state.open_usage.pending() == 6
    assert app.state.open_usage.flush() and app.state.open_usage.pending() == 0
    assert client.get(f"{API}/datasets/{code}").json()["usage"] == {"view": 3, "download": 2, "api": 1}
    provider = client.get(f"{API}/providers").json()[0]
    assert provider["datasets"] == 1 and provider["download"] == 2 and 0 < provider["score"] <= score.MAXIMUM


def test_withdrawn_datasets_are_gone_from_the_public(client, login, open_world):
    boss = login("boss")
    code = publish(client, boss, open_world["codes"]["companies"]).json()["code"]
    assert client.post(f"{API}/datasets/{code}/withdraw", headers=boss, json={"reason": "数据口径调整"}).status_code == 200
    assert client.get(f"{API}/datasets/{code}").status_code == 404
    assert client.get(f"{API}/datasets/{code}/download.csv").status_code == 404
    assert client.get(f"{API}/datasets").json()["total"] == 0
    assert publish(client, boss, open_world["codes"]["companies"]).status_code == 201  # and may come back


def test_the_dcat_ap_output_conforms_to_the_shapes_and_a_broken_graph_does_not(client, login, open_world):
    boss = login("boss")
    publish(client, boss, open_world["codes"]["companies"], contact_email="data@example.gov.cn", spatial="330100",
            temporal_start="2010-01-01", temporal_end="2026-11-30")
    publish(client, boss, open_world["codes"]["people"], kind="statistics")
    answer = client.get(f"{API}/catalog.ttl")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=answer.text, format="turtle")
    assert len(list(graph.subjects(RDF.type, DCAT.Dataset))) == 2
    assert len(list(graph.subjects(RDF.type, DCAT.Distribution))) == 8
    conforms, problems = dcat.validate(graph)
    assert conforms, problems
    jsonld = Graph().parse(data=client.get(f"{API}/catalog.jsonld").text, format="json-ld")
    assert len(jsonld) == len(graph)
    # Break it as harvested catalogues often are: a distribution without an access URL, a theme as text.
    distribution = next(graph.subjects(RDF.type, DCAT.Distribution))
    graph.remove((distribution, DCAT.accessURL, None))
    dataset = next(graph.subjects(RDF.type, DCAT.Dataset))
    graph.add((dataset, DCAT.theme, Literal("人口")))
    conforms, problems = dcat.validate(graph)
    assert not conforms
    assert any("access URL" in p for p in problems) and any("theme" in p for p in problems)


def test_the_metadata_score_follows_the_mqa_and_checks_that_links_work(client, login, database, open_world):
    boss = login("boss")
    rich = publish(client, boss, open_world["codes"]["companies"], contact_email="data@example.gov.cn",
                   spatial="330100", temporal_start="2010-01-01", temporal_end="2026-11-30").json()
    empty = publish(client, boss, open_world["codes"]["empty"]).json()  # nothing loaded: its downloads fail
    before = rich["quality"]
    assert before["of"] == 405 and before["dimensions"]["accessibility"] == 20  # links given, none checked yet
    assert "access_url" in before["to_improve"]
    checked = score.check_links(database, client, dcat_base(database))
    assert set(checked[rich["code"]].values()) == {200}
    assert checked[empty["code"]][dcat.landing_page(dcat_base(database), empty["code"])] == 200
    assert 404 in checked[empty["code"]].values()
    after = client.get(f"{API}/datasets/{rich['code']}").json()["quality"]
    assert after["dimensions"] == {"findability": 100, "accessibility": 100, "interoperability": 105,
                                   "reusability": 75, "contextuality": 20}
    assert after["points"] == 400 and after["rating"] == "excellent"  # XLSX is the one proprietary format
    poor = client.get(f"{API}/datasets/{empty['code']}").json()["quality"]
    assert poor["dimensions"]["accessibility"] == 70  # its page answers, its downloads do not
    assert poor["points"] < after["points"] and "contact_point" in poor["to_improve"]


def dcat_base(database) -> str:
    return database.sessions.kw["info"]["public_url"].rstrip("/")


def test_ckan_harvesters_see_the_published_datasets_with_their_downloads(live_server, client, login, open_world):
    code = publish(client, login("boss"), open_world["codes"]["companies"]).json()["code"]
    with ckanapi.RemoteCKAN(live_server) as ckan:
        assert ckan.action.package_list() == [code]  # the permits and people are not published
        package = ckan.action.package_show(id=code)
        assert package["license_id"] == "CC-BY-4.0" and package["private"] is False
        assert {r["format"] for r in package["resources"]} == {"CSV", "XLSX", "JSON", "PARQUET"}
        assert all(r["url"].endswith(f"/api/v1/open/datasets/{code}/download.{r['format'].lower()}")
                   for r in package["resources"])


def test_public_reads_go_on_while_a_writer_holds_the_lock_and_their_counts_wait(client, login, app, database,
                                                                                open_world):
    code = publish(client, login("boss"), open_world["codes"]["companies"]).json()["code"]
    app.state.open_usage.flush()
    blocker = database.engine.connect()
    if database.dialect == "sqlite":  # another writer holds the main file's write lock
        blocker.exec_driver_sql("UPDATE main.alembic_version SET version_num = version_num")
    else:  # another transaction keeps every other writer off the usage table (reads still pass)
        blocker.exec_driver_sql("LOCK TABLE open_usage IN EXCLUSIVE MODE")
    try:
        assert client.get(f"{API}/datasets/{code}").status_code == 200
        assert client.get(f"{API}/datasets/{code}/download.csv").status_code == 200
        assert client.get(f"{API}/datasets/{code}/records").status_code == 200
        assert app.state.open_usage.flush() is False  # busy: the counts are kept, not lost
        assert app.state.open_usage.pending() == 3
    finally:
        blocker.rollback()
        blocker.close()
    assert app.state.open_usage.flush() is True
    assert client.get(f"{API}/datasets/{code}").json()["usage"] == {"view": 1, "download": 1, "api": 1}


def test_a_dataset_whose_resource_gains_personal_data_is_withdrawn_not_rebuilt(client, login, database, operator,
                                                                              open_world, tmp_path):
    from tests.helpers import DEPT_CODE, citizen_id, resource_body
    from tests.opendata.conftest import COMPANY_ITEMS

    boss, resource = login("boss"), open_world["codes"]["companies"]
    code = publish(client, boss, resource).json()["code"]
    body = resource_body(DEPT_CODE, name="企业名录", summary="本省登记的企业名录", theme="法人", keywords=["企业", "名录"],
                         open_type="open", sharing_type="unconditional",
                         items=[*COMPANY_ITEMS, {"name": "法定代表人身份证号", "element": "DE0001"}])
    changed = client.put(f"/api/v1/resources/{resource}", headers=boss, json=body)
    assert changed.status_code == 200, changed.text
    rows = [[*row, citizen_id(n)] for n, row in enumerate(company_rows(12), start=1)]
    load_csv(database, operator, resource, tmp_path, [*COMPANY_HEADER, "法定代表人身份证号"], rows, "with-ids.csv")
    events.dispatch(database)  # the worker's round would build the new load's files: it withdraws instead
    with database.reading() as session:
        dataset = session.scalar(select(OpenDataset).where(OpenDataset.code == code))
        withdrawn = session.scalars(select(AuditEvent).where(AuditEvent.action == "open.withdraw")).all()
    assert dataset.status == "withdrawn"
    assert [e.detail for e in withdrawn] == [{"reason": "personal_data", "items": ["法定代表人身份证号"]}]
    assert client.get(f"{API}/datasets/{code}/download.csv").status_code == 404
    built = list((database.data_dir / "opendata" / code).rglob("data.*"))
    assert built and not any(rows[0][-1] in p.read_bytes().decode("utf-8", "replace") for p in built)
