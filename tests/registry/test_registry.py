"""The registries end to end: links, golden values, wrong IDs, decisions, disagreements, reads
through sharing, incremental updates, the CLI. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from datong.catalog.models import Resource
from datong.cli import app as cli
from datong.errors import InvalidInput
from datong.ingest.flows import run_load
from datong.ingest.sources import Source
from datong.quality.models import QualityIssue
from datong.registry import service
from datong.registry.flows import run_build
from datong.registry.models import Build, Change, Link, Name, Profile, Review, Subject
from datong.registry.updates import pending_count
from datong.security.models import AuditEvent
from tests.helpers import cli_env
from tests.registry.conftest import COMPANY, write_csv


def _links(database, kind: str) -> dict[str, tuple[str, str, str | None]]:
    """record key → (subject key, method, suspect) for the records of the test province's sources."""
    with database.reading() as session:
        rows = session.execute(select(Link.record_key, Subject.key, Link.method, Link.suspect)
                               .join(Subject, Subject.id == Link.subject_id).where(Subject.kind == kind)).all()
    found = {}
    for record, key, method, suspect in rows:
        found.setdefault(record, []).append((key, method, suspect))
    return found


def test_build_links_by_id_old_codes_and_model(database, operator, province):
    person = run_build(database, operator, kind="person")
    entity = run_build(database, operator, kind="entity")
    people, links = province["people"], _links(database, "person")
    assert links["DB1"] == [(people[1], "id", None)]
    assert links["DB7"] == [(people[8], "id", None)]  # 15 digits, upgraded
    for record in ("DB2", "DB3", "DB4"):  # homophone typo, day and month swapped, traditional characters
        assert links[record] == [(province["truth"][record], "model", None)], record
    assert links["DB5"] == [(people[4], "id", "wrong_id")]  # 陈芳's ID with 孙伟's name and birth date
    assert "DB6" not in links  # nobody in the register
    assert person.subjects == 8 and person.unlinked == 1 and person.wrong_ids == 1
    companies = _links(database, "entity")
    assert companies["XK1"] == [(COMPANY[0], "old_code", None)]  # 注册号
    assert companies["XK2"] == [(COMPANY[1], "old_code", None)]  # 组织机构代码 inside the credit code
    assert companies["XK3"] == [(COMPANY[2], "model", None)]  # name only: 股份公司 = 股份有限公司
    assert entity.subjects == 3
    with database.reading() as session:
        reviews = session.execute(select(Review.record_key, Review.reason, Subject.key)
                                  .join(Subject, Subject.id == Review.subject_id)).all()
    assert {(r.record_key, r.reason, r.key) for r in reviews} == {
        ("DB5", "wrong_id", people[4]), ("DB5", "wrong_id", people[9])}


def _resource_id(session, code: str) -> int:
    from datong.catalog.models import Resource

    return session.scalar(select(Resource.id).where(Resource.code == code))


def _profile(session, key: str) -> dict:
    subject = session.scalar(select(Subject.id).where(Subject.key == key))
    return json.loads(session.scalar(select(Profile.attributes).where(Profile.subject_id == subject)))


def test_golden_values_follow_the_authoritative_source(database, operator, province):
    run_build(database, operator, kind="person")
    people = province["people"]
    with database.reading() as session:
        wang = _profile(session, people[1])
        assert wang["DE0002"]["value"] == "王建国" and wang["DE0002"]["rule"] == "authoritative"
        assert [(d["value"], d["record"]) for d in wang["DE0002"]["differ"]] == [("王建", "DB1")]
        # 民政 alone knows the marital status: no authoritative value, so the sources' consensus
        assert wang["DE0016"]["value"] == "20" and wang["DE0016"]["rule"] == "latest"
        # an address without its 省 prefix says the same thing
        assert wang["DE0008"]["differ"] == [] and wang["DE0008"]["agree"] == [_resource_id(session, province["db"])]
        issue = session.scalar(select(QualityIssue).where(QualityIssue.kind == "registry",
                                                          QualityIssue.item == "姓名"))
        assert issue is not None and issue.failing == 3 and issue.state == "open"  # 王建, 李铭, 劉洋
        assert {s["key"] for s in issue.samples} == {"DB1", "DB2", "DB4"}
        # the wrong ID's values stay out of 陈芳's record
        chen = _profile(session, people[4])
        assert "DB5" not in json.dumps(chen) and chen["DE0002"]["value"] == "陈芳"


def test_ids_are_stable_and_decisions_outrank_model_and_id(database, operator, province):
    run_build(database, operator, kind="person")
    with database.reading() as session:
        before = dict(session.execute(select(Subject.key, Subject.id)).all())
        items = service.list_reviews(session, operator, kind="person")["items"]
    people = province["people"]
    for item in items:  # the steward: DB5 is 孙伟, not 陈芳
        with database.unit_of_work() as session:
            service.decide_review(session, operator, review_id=item["id"], same=item["subject"] == people[9],
                                  note="核对户籍照片")
    with database.unit_of_work() as session:  # and DB6 is unlinked on purpose; 张丽's record is merged by hand
        service.relink(session, operator, kind="person", resource_code=province["db"], record_key="DB1",
                       key=people[1], same=True)
    run_build(database, operator, kind="person")
    with database.reading() as session:
        after = dict(session.execute(select(Subject.key, Subject.id)).all())
        decided = session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "registry.review.decide"))
    assert after == before
    assert decided == 3
    assert _links(database, "person")["DB5"] == [(people[9], "steward", None)]


def test_a_rebuild_keeps_every_index_and_each_link_once(database, operator, province):
    """A full build drops the links' and names' secondary indexes on SQLite while it rewrites
    them, and builds them again before it commits; the database keeps them whatever it is."""
    from sqlalchemy import inspect

    def indexes() -> dict[str, set[str]]:
        with database.reading() as session:
            found = inspect(session.connection())
            return {t: {i["name"] for i in found.get_indexes(t)} for t in ("registry_links", "registry_names")}

    run_build(database, operator, kind="person")
    first, links = indexes(), _links(database, "person")
    run_build(database, operator, kind="person")
    assert indexes() == first
    assert "ix_registry_links_subject" in first["registry_links"]
    assert "ix_registry_names_value" in first["registry_names"]
    assert _links(database, "person") == links
    with database.reading() as session:
        duplicates = session.execute(select(Link.resource_id, Link.record_key, Link.subject_id)
                                     .group_by(Link.resource_id, Link.record_key, Link.subject_id)
                                     .having(func.count() > 1)).all()
        named = session.scalar(select(func.count()).select_from(Name).where(Name.element == "DE0002",
                                                                            Name.value == "王建国"))
    assert duplicates == []
    assert named == 1


def _granted(client, login, province, items):
    """民政's admin asks for 人口综合库; the bureau approves."""
    with_token = login("dadmin")
    with client.app.state.database.reading() as session:
        code = service.registry_resource(session, "person").code
    asked = client.post("/api/v1/share/requests", headers=with_token, json={
        "resource": code, "items": items, "purpose": "核对最低生活保障对象身份", "legal_basis": "《社会救助暂行办法》",
        "days": 30})
    assert asked.status_code == 201, asked.text
    decided = client.post(f"/api/v1/share/requests/{asked.json()['id']}/decision", headers=login("boss"),
                          json={"approve": True})
    assert decided.status_code == 200, decided.text
    return with_token


def test_registry_is_read_through_sharing(client, login, database, operator, province):
    run_build(database, operator, kind="person")
    people = province["people"]
    url = f"/api/v1/registry/persons/{people[1]}"
    purpose = {"X-Purpose": quote("核对最低生活保障对象身份"), "X-Case-No": "MZ2026-0042"}
    assert client.get(url, headers={**login("dadmin"), **purpose}).status_code == 403  # no grant yet
    headers = {**_granted(client, login, province, ["公民身份号码", "姓名", "出生日期", "住址"]), **purpose}
    assert client.get(url, headers=login("dadmin")).status_code == 400  # no purpose
    with database.reading() as session:
        reads = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "share.read"))
    answer = client.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body["attributes"]) == {"key", "公民身份号码", "姓名", "出生日期", "住址"}  # the grant's items only
    assert body["attributes"]["姓名"] == "王建国"  # plain, as the grant allows
    assert body["attributes"]["公民身份号码"] != people[1] and "*" in body["attributes"]["公民身份号码"]  # masked
    names = body["provenance"]["姓名"]
    assert names[0]["golden"] and names[0]["rule"] == "authoritative" and names[0]["department_name"] == "测试省公安厅"
    assert {(n["value"], n["agrees"]) for n in names[1:]} == {("王建", False)}
    assert "性别代码" not in body["provenance"]
    with database.reading() as session:
        after = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "share.read"))
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "share.read").order_by(AuditEvent.seq.desc()))
    assert after == reads + 1 and event.case_number == "MZ2026-0042"
    found = client.get("/api/v1/registry/persons", params={"name": "王建国", "birth": "1960-03-15"}, headers=headers)
    assert found.status_code == 200 and [r["key"] for r in found.json()["records"]] == [people[1]]
    assert client.get("/api/v1/registry/persons/123", headers=headers).status_code == 422
    # the 一号 view draws on the registry too
    view = client.get(f"/api/v1/share/subjects/{people[1]}", headers=headers).json()
    assert "人口综合库" in {r["name"] for r in view["resources"]}
    stats = client.get("/api/v1/registry/person/stats", headers=login("boss")).json()
    assert stats["subjects"] == 8 and stats["reviews"]["pending"] == 2 and stats["wrong_ids"] == 1


def test_reads_keep_the_registry_resource_until_its_version_changes(database, operator, province):
    """A read of a subject checks the registry resource's version instead of loading it with its
    items; an element the catalog then assigns to the registry is in the next read's view."""
    from sqlalchemy import event

    from datong.catalog.schemas import DataElementIn
    from datong.catalog.service import create_element

    with database.unit_of_work() as session:
        service.ensure_registry_resource(session, operator, "person")
    with database.reading() as session:
        first = service.registry_view(session, "person")
    sent = []

    def listener(_conn, _cursor, statement, *rest) -> None:
        sent.append(statement)

    event.listen(database.engine, "before_cursor_execute", listener)
    try:
        with database.reading() as session:
            assert service.registry_view(session, "person") is first
    finally:
        event.remove(database.engine, "before_cursor_execute", listener)
    assert not [s for s in sent if "data_items" in s or "resources" in s]  # the version, at the driver level only
    with database.unit_of_work() as session:
        create_element(session, operator, data=DataElementIn(
            identifier="DE9901", name="兵役状况", name_en="Military service", data_type="string",
            sensitivity="sensitive", base_registry="population"))
        service.ensure_registry_resource(session, operator, "person")
    with database.reading() as session:
        second = service.registry_view(session, "person")
        version = session.scalar(select(Resource.version).where(Resource.id == first.id))
    assert second.id == first.id and version >= 2
    assert {(i.name, i.element, i.sensitivity) for i in second.items} - set(map(tuple, (
        (i.name, i.element, i.sensitivity) for i in first.items))) == {("兵役状况", "DE9901", "sensitive")}
    with database.reading() as session:  # a bureau named by DATONG_BUREAU finds the same resource
        session.info["bureau"] = service.bureau_department(session).code
        assert service.registry_view(session, "person") is second
    with database.reading() as session, pytest.raises(InvalidInput):  # and one that is no department says so
        session.info["bureau"] = "91330000MA2000000X"
        service.registry_view(session, "person")


def test_a_load_updates_only_the_subjects_it_touched(database, operator, province, tmp_path):
    import datong.registry.updates  # noqa: F401 - the consumer

    run_build(database, operator, kind="person")
    people = province["people"]
    with database.reading() as session:
        before = dict(session.execute(select(Profile.subject_id, Profile.updated_at)).all())
    path = write_csv(tmp_path / "change.csv", ["公民身份号码", "姓名", "性别代码", "出生日期", "户籍地址", "联系电话"],
                     [[people[8], "赵静怡", "2", "1979-12-12", "浙江省杭州市拱墅区湖墅南路2号", "13812340008"]])
    run_load(database, operator, resource_code=province["hj"], source=Source.from_path(path), mode="incremental")
    with database.reading() as session:
        assert pending_count(session) == 0  # taken in after the load's dispatch
        zhao = session.scalar(select(Subject.id).where(Subject.key == people[8]))
        name = _profile(session, people[8])["DE0002"]["value"]
        change = session.scalar(select(Change).where(Change.subject_id == zhao))
        after = dict(session.execute(select(Profile.subject_id, Profile.updated_at)).all())
        registry = service.registry_resource(session, "person")
        from datong.store.models import Record
        payload = json.loads(session.scalar(select(Record.payload).where(Record.resource_id == registry.id,
                                                                         Record.key == people[8])))
    assert name == "赵静怡" and change.old == "赵静" and change.new == "赵静怡"
    assert payload["姓名"] == "赵静怡"
    assert [i for i in after if after[i] != before[i]] == [zhao]  # no other profile was rewritten

    # a new applicant without an ID: placed by the model against every subject, and 周敏's
    # record gains what 民政 knows
    path = write_csv(tmp_path / "new.csv", ["申请编号", "公民身份号码", "姓名", "性别代码", "出生日期", "居住地址", "联系电话",
                                            "婚姻状况代码"],
                     [["DB8", "", "周敏", "2", "1995-04-17", "杭州市滨江区江南大道4号", "13812340010", "10"]])
    run_load(database, operator, resource_code=province["db"], source=Source.from_path(path), mode="incremental")
    assert _links(database, "person")["DB8"] == [(people[10], "model", None)]
    with database.reading() as session:
        zhou = _profile(session, people[10])
    assert zhou["DE0016"]["value"] == "10" and zhou["DE0016"]["record"] == "DB8"
    with database.reading() as session:  # the updates weighed their one record with the build's estimate
        owned = [(b.mode, b.figures["owned"]) for b in session.scalars(select(Build).where(Build.kind == "person")
                                                                      .order_by(Build.id))]
    assert owned[0][0] == "full" and 0.05 <= owned[0][1] <= 0.99
    assert [o for mode, o in owned if mode == "incremental"] == [owned[0][1]] * (len(owned) - 1)


def test_cli_build_status_show(database, operator, province, settings):
    runner = CliRunner()
    run = lambda *args: runner.invoke(cli, list(args), env=cli_env(settings))
    built = run("--lang", "en", "registry", "build", "--kind", "person")
    assert built.exit_code == 0, built.output
    assert "8 subjects" in built.stdout and "1 probable wrong IDs" in built.stdout
    status = run("registry", "status", "--json")
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["registries"][0]["subjects"] == 8
    shown = run("registry", "show", province["people"][1], "--purpose", "数据维护")
    assert shown.exit_code == 0 and "王建国" in shown.stdout and "≠ 王建 " in shown.stdout
    bad = run("--lang", "en", "registry", "show", "110101199003071234")
    assert bad.exit_code == 2 and "citizen ID" in bad.output
