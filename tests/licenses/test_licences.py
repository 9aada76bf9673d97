"""The licence library through its API and services: seals and certificates, issuing, the PDF,
signed JSON, QR text and credential, verifying each (tampering named by field), the lifecycle,
the status list, rotation, refusals, holders' consent and grants, audit."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from datong.licenses import documents, holders, keys, render, service, signing
from datong.licenses.models import Licence, SealKey
from datong.security.authz import Actor
from datong.security.models import AuditEvent, AuditSubject
from tests.helpers import DEPT_CODE, OTHER_CODE
from tests.licenses.conftest import api_draft, draft, holder

PURPOSE = {"X-Purpose": "%E5%8A%9E%E7%90%86%E6%88%B7%E5%8F%A3%E8%BF%81%E7%A7%BB", "X-Case-No": "CASE-1",
           "Accept-Language": "en"}


def _signed(client, headers, identifier) -> dict:
    response = client.get(f"/api/v1/licences/{identifier}/signed", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _verify(client, body: bytes | str) -> dict:
    response = client.post("/api/v1/licences/verify", content=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_private_keys_are_sealed_and_certificates_chain_to_the_authority(database, library):
    with database.reading() as session:
        stored = list(session.scalars(select(SealKey)))
        published = keys.published_keys(session)
    assert stored and all(k.private_sealed.startswith("fernet:") and "PRIVATE" not in k.private_sealed for k in stored)
    ring = documents.Keyring(published)
    seal_keys = [k for k in published["keys"] if k["purpose"] == "seal"]
    assert len(seal_keys) == 3 and all(ring.key(k["kid"]) for k in seal_keys)
    forged = json.loads(json.dumps(published))
    forged["keys"][1]["certificate"]["certificate"]["subject"]["department"] = "冒名单位"
    assert documents.Keyring(forged).key(forged["keys"][1]["kid"]) is None


def test_a_department_issues_through_the_api_and_the_licence_verifies_in_every_form(client, login, library):
    headers = login("dadmin")
    response = client.post(f"/api/v1/licence-types/{library['type']}/licences", headers=headers,
                           json={"licences": [api_draft(7)]})
    assert response.status_code == 201, response.text
    licence = response.json()[0]
    assert licence["issuer"] == DEPT_CODE and licence["seal"]["algorithm"] == "ed25519"
    ident = licence["identifier"]
    signed = _signed(client, headers, ident)
    assert _verify(client, json.dumps(signed))["outcome"] == "valid"
    pdf = client.get(f"/api/v1/licences/{ident}/pdf", headers=headers)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    from_pdf = _verify(client, pdf.content)
    assert from_pdf["outcome"] == "valid" and from_pdf["form"] == "pdf"
    assert from_pdf["licence"]["holder"] == "测**" and "*" in from_pdf["licence"]["holder_key"]
    qr = render.qr_for("http://hub", json.dumps(signed["document"]), signed["signature"])
    assert _verify(client, qr)["outcome"] == "valid"
    vc = client.get(f"/api/v1/licences/{ident}/credential", headers=headers)
    assert vc.status_code == 200 and vc.json()["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert _verify(client, vc.text)["outcome"] == "valid"


def test_tampering_is_caught_and_the_changed_field_named(client, login, issued):
    signed = _signed(client, login("boss"), issued[0])
    signed["document"]["data"]["配偶姓名"] = "别人"
    verdict = _verify(client, json.dumps(signed, ensure_ascii=False))
    assert verdict["outcome"] == "tampered" and verdict["changed"] == ["data.配偶姓名"]
    assert verdict["signature_valid"] is False


def test_a_forged_key_is_unknown_and_junk_is_refused(client, login, issued):
    signed = _signed(client, login("boss"), issued[0])
    forger = signing.generate("sm2")
    re_signed = json.loads(json.dumps(signed))
    re_signed["signature"] = signing.b64(signing.sign(forger, "sm2", signing.canonical(signed["document"])))
    assert _verify(client, json.dumps(re_signed))["outcome"] == "tampered"  # not what the named seal signed
    signed["document"]["seal"]["kid"] = signed["kid"] = "seal-forged"
    signed["signature"] = signing.b64(signing.sign(forger, "sm2", signing.canonical(signed["document"])))
    assert _verify(client, json.dumps(signed))["outcome"] == "unknown"
    junk = client.post("/api/v1/licences/verify", content=b"hello", headers={"Accept-Language": "en"})
    assert junk.status_code == 422 and "QR" in junk.json()["detail"]
    huge = client.post("/api/v1/licences/verify", content=b"{" + b" " * (6 * 1024 * 1024))
    assert huge.status_code == 413


def test_lifecycle_revoke_suspend_restore_reissue_and_status_list(client, login, issued, database):
    boss = login("boss")
    ident, second, third = issued
    no_reason = client.post(f"/api/v1/licences/{ident}/revoke", headers=boss, json={})
    assert no_reason.status_code == 422
    assert client.post(f"/api/v1/licences/{ident}/revoke", headers=boss, json={"reason": "登记错误"}).status_code == 200
    assert client.post(f"/api/v1/licences/{ident}/restore", headers=boss, json={}).status_code == 409
    assert client.post(f"/api/v1/licences/{second}/suspend", headers=boss, json={"reason": "核查中"}).status_code == 200
    fresh = client.post(f"/api/v1/licences/{third}/reissue", headers=boss,
                        json={"data": {"备注": "补领"}, "reason": "遗失补领"})
    assert fresh.status_code == 201 and fresh.json()["version"] == 2
    outcomes = [_verify(client, json.dumps(_signed(client, boss, i)))["outcome"] for i in issued]
    assert outcomes == ["revoked", "suspended", "superseded"]
    old = _verify(client, json.dumps(_signed(client, boss, third)))
    assert old["superseded_by"] == fresh.json()["identifier"]
    published = client.get("/api/v1/licences/status").json()
    with database.reading() as session:
        index = {lic.identifier: lic.status_index for lic in session.scalars(select(Licence))}
        authority = session.scalar(select(SealKey).where(SealKey.kid == published["kid"]))
    assert signing.verify_pem(authority.public_pem, authority.algorithm, signing.unb64(published["signature"]),
                              signing.canonical(published["list"]))
    encoded = published["list"]["encodedList"]
    assert [documents.status_at(encoded, index[i]) for i in issued] == [1, 2, 3]
    assert documents.status_at(encoded, index[fresh.json()["identifier"]]) == 0
    history = client.get(f"/api/v1/licences/{third}", headers=boss).json()
    assert [v["version"] for v in history["versions"]] == [1, 2]
    assert "superseded" in [h["action"] for h in history["history"]]
    restored = client.post(f"/api/v1/licences/{second}/restore", headers=boss, json={})
    assert restored.status_code == 200 and restored.json()["status"] == "valid"


def test_an_expired_licence_says_so(client, login, library, database, operator):
    with database.unit_of_work() as session:
        lic = service.issue_licences(session, operator, type_code=library["type"], issuer=OTHER_CODE, drafts=[
            service.Draft(holder(9), "测试9", draft(9).data, valid_from=date(2020, 1, 1), valid_until=date(2021, 1, 1))])[0]
        ident = lic.identifier
    assert _verify(client, json.dumps(_signed(client, login("boss"), ident)))["outcome"] == "expired"


def test_rotation_keeps_old_licences_verifiable_and_signs_new_ones_with_the_new_key(client, login, issued, library,
                                                                                     database, operator):
    boss = login("boss")
    before = _signed(client, boss, issued[0])
    rotated = client.post(f"/api/v1/seals/{library['seal']}/rotate", headers=boss, json={})
    assert rotated.status_code == 200 and rotated.json()["kid"] != before["kid"]
    assert _verify(client, json.dumps(before))["outcome"] == "valid"
    with database.unit_of_work() as session:
        new = service.issue_licences(session, operator, type_code=library["type"], drafts=[draft(5)], issuer=OTHER_CODE)
        assert new[0].key.kid == rotated.json()["kid"]
    kinds = {k["kid"]: k["retired_at"] for k in client.get("/api/v1/licences/keys").json()["keys"]}
    assert kinds[before["kid"]] is not None and kinds[rotated.json()["kid"]] is None


def test_issuing_refuses_bad_drafts_whole_and_names_the_row(client, login, library, database):
    headers = {**login("dadmin"), "Accept-Language": "en"}
    bad = client.post(f"/api/v1/licence-types/{library['type']}/licences", headers=headers,
                      json={"licences": [api_draft(1), {**api_draft(2), "holder_key": "110105194912310021"}]})
    assert bad.status_code == 422 and "[1] holder_key" in bad.json()["detail"]
    unknown = client.post(f"/api/v1/licence-types/{library['type']}/licences", headers=headers,
                          json={"licences": [api_draft(3, 颜色="红")]})
    assert unknown.status_code == 422 and "颜色" in unknown.json()["detail"]
    with database.reading() as session:
        assert session.scalar(select(Licence.id).limit(1)) is None  # all or none


def test_only_issuers_issue_and_only_managers_revoke(client, login, library, issued):
    clerk = login("clerk1")
    wrong_issuer = client.post(f"/api/v1/licence-types/{library['type']}/licences", headers=login("dadmin"),
                               json={"issuer": OTHER_CODE, "licences": [api_draft(4)]})
    assert wrong_issuer.status_code == 403
    assert client.post(f"/api/v1/licences/{issued[0]}/revoke", headers=clerk, json={"reason": "x"}).status_code == 403
    assert client.post(f"/api/v1/licences/{issued[0]}/revoke", headers=login("dadmin"),
                       json={"reason": "x"}).status_code == 403  # 民政 issued it, not the test department
    listed = client.get("/api/v1/licences", headers=login("dadmin")).json()
    assert listed["total"] == 0  # a department sees the licences it issued
    assert client.get("/api/v1/licences", headers=login("boss")).json()["total"] == 3


def test_using_a_holders_licences_needs_their_consent_or_a_grant_and_is_audited(client, login, issued, database,
                                                                               library):
    clerk = {**login("clerk1"), **PURPOSE}
    person = holder(1)
    refused = client.get(f"/api/v1/holders/{person}/licences", headers=clerk)
    assert refused.status_code == 403 and "authorise" in refused.json()["detail"]
    consent = client.post(f"/api/v1/holders/{person}/consents", headers=login("clerk1"),
                          json={"purpose": "办理户口迁移", "days": 7, "types": [library["type"]]})
    assert consent.status_code == 201 and consent.json()["given_via"] == "window"
    used = client.get(f"/api/v1/holders/{person}/licences", headers=clerk)
    assert used.status_code == 200 and [lic["identifier"] for lic in used.json()] == [issued[0]]
    assert used.json()[0]["data"]["配偶姓名"] == "配偶"
    with database.reading() as session:
        events = session.scalars(select(AuditEvent).join(AuditSubject, AuditSubject.seq == AuditEvent.seq)
                                 .where(AuditSubject.subject == person, AuditEvent.action == "licence.use")).all()
        assert len(events) == 1 and events[0].case_number == "CASE-1"
        mine = holders.my_licences(session, Actor.holder(person), holder_key=person)
    assert mine["uses"][0]["licences"] == [issued[0]] and mine["consents"][0]["purpose"] == "办理户口迁移"
    withdrawn = client.delete(f"/api/v1/consents/{consent.json()['id']}", headers=login("clerk1"))
    assert withdrawn.status_code == 200
    assert client.get(f"/api/v1/holders/{person}/licences", headers=clerk).status_code == 403


def test_a_grant_on_the_licence_type_shows_only_the_granted_fields(client, login, issued, library):
    asked = client.post("/api/v1/share/requests", headers=login("dadmin"), json={
        "resource": library["resource"], "items": ["证照标识", "持证主体代码", "配偶姓名"], "purpose": "核验婚姻状况",
        "legal_basis": "户口登记条例", "days": 30})
    assert asked.status_code == 201, asked.text
    decided = client.post(f"/api/v1/share/requests/{asked.json()['id']}/decision", headers=login("boss"),
                          json={"approve": True})
    assert decided.status_code == 200, decided.text
    used = client.get(f"/api/v1/holders/{holder(2)}/licences", headers={**login("dadmin"), **PURPOSE})
    assert used.status_code == 200, used.text
    assert used.json()[0]["data"] == {"配偶姓名": "配偶"}
    assert "*" in used.json()[0]["holder_name"]


def test_a_holder_acts_only_for_themselves(database, issued):
    from datong.errors import PermissionDenied

    with database.reading() as session, pytest.raises(PermissionDenied):
        holders.my_licences(session, Actor.holder(holder(2)), holder_key=holder(1))


def test_subscribers_to_a_licence_type_are_told_of_issues_and_revocations(client, login, library, database, operator):
    asked = client.post("/api/v1/share/requests", headers=login("dadmin"), json={
        "resource": library["resource"], "items": ["证照标识", "证照状态"], "purpose": "同步证照状态",
        "legal_basis": "一证通办", "days": 30})
    grant = client.post(f"/api/v1/share/requests/{asked.json()['id']}/decision", headers=login("boss"),
                        json={"approve": True}).json()
    from datong.sharing.models import Delivery, Grant, Subscription

    with database.unit_of_work() as session:
        grant_row = session.scalar(select(Grant).where(Grant.request_id == grant["id"]))
        session.add(Subscription(grant_id=grant_row.id, resource_id=grant_row.resource_id,
                                 consumer_id=grant_row.consumer_id, callback_url="https://example.invalid/hook",
                                 secret="whsec_x", events=["inserted", "updated"], created_by="tests"))
    with database.unit_of_work() as session:
        lic = service.issue_licences(session, operator, type_code=library["type"], drafts=[draft(8)], issuer=OTHER_CODE)[0]
        service.change_status(session, operator, identifier=lic.identifier, action="revoke", reason="撤销登记")
    with database.reading() as session:
        bodies = [json.loads(d.body) for d in session.scalars(select(Delivery).order_by(Delivery.id))]
    assert [(b["event"], b["record"]["证照状态"]) for b in bodies] == [("inserted", "valid"), ("updated", "revoked")]
    assert set(bodies[0]["record"]) == {"证照标识", "证照状态"}


def test_an_sm2_licence_has_no_credential_form(client, login, issued):
    response = client.get(f"/api/v1/licences/{issued[0]}/credential", headers={**login("boss"), "Accept-Language": "en"})
    assert response.status_code == 409 and "SM2" in response.json()["detail"]


def test_p256_credentials_verify_and_tampering_breaks_the_proof(database, operator, library):
    with database.unit_of_work() as session:
        keys.rotate_seal(session, operator, seal_id=library["seal"], algorithm="p256")
        lic = service.issue_licences(session, operator, type_code=library["type"], drafts=[draft(6)], issuer=OTHER_CODE)[0]
        vc = render.credential(lic.document, key=keys.private_key(session, lic.key), algorithm="p256",
                               kid=lic.key.kid, base_url="http://hub", index=lic.status_index)
        pem = lic.key.public_pem
    assert vc["proof"]["cryptosuite"] == "ecdsa-jcs-2019"
    assert documents.verify_proof(vc, pem, "p256")
    vc["credentialSubject"]["data"]["配偶姓名"] = "别人"
    assert not documents.verify_proof(vc, pem, "p256")


def test_status_list_round_trip_and_minimum_size():
    encoded, entries = documents.encode_status({0: 1, 5: 2, 131_071: 3, 200_000: 1})
    assert entries == 200_001
    assert [documents.status_at(encoded, i) for i in (0, 1, 5, 131_071, 200_000, 300_000)] == [1, 0, 2, 3, 1, 0]
    small, size = documents.encode_status({})
    assert size == documents.STATUS_MIN_ENTRIES and documents.status_at(small, 3) == 0


def test_a_licence_type_must_be_well_formed(database, operator, world):
    from datong.errors import InvalidInput
    from tests.licenses.conftest import marriage_spec

    with database.unit_of_work() as session, pytest.raises(InvalidInput):
        service.save_licence_type(session, operator, spec=marriage_spec(code="12345"))
    with database.unit_of_work() as session, pytest.raises(InvalidInput):
        service.save_licence_type(session, operator, spec=marriage_spec(fields=[{"name": "证照状态"}]))


def test_the_holder_kind_of_an_issued_type_stays(database, operator, issued):
    from datong.errors import InvalidInput
    from tests.licenses.conftest import marriage_spec

    with database.unit_of_work() as session, pytest.raises(InvalidInput, match="holder_kind"):
        service.save_licence_type(session, operator, spec=marriage_spec(holder_kind="entity"))
    with database.unit_of_work() as session:  # anything else may still change
        assert service.save_licence_type(session, operator, spec=marriage_spec(ministry="民政部（新）")).holder_kind == "person"


def test_kept_licence_types_follow_their_version(database, operator, library):
    """Prefills read licence types kept per process: a second read loads no row, an edit counts the
    version up and the next read has the edit; an unknown code is named."""
    from sqlalchemy import event

    from datong.errors import NotFound
    from datong.licenses.models import LicenceType
    from tests.licenses.conftest import marriage_spec

    with database.reading() as session:
        first = service.kept_licence_types(session, ["结婚证"])[0]  # by name, as by code
    version = first.version
    loaded = []

    def seen(_conn, _cursor, sql, *_args):
        if "licence_types.source_mapping" in sql:  # a whole row
            loaded.append(sql)

    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        with database.reading() as session:
            assert service.kept_licence_types(session, [library["type"]]) == [first]
        assert loaded == []
        with database.unit_of_work() as session:
            service.save_licence_type(session, operator, spec=marriage_spec(ministry="民政部（新）"))
        loaded.clear()  # the edit loads its own row
        with database.reading() as session:
            again = service.kept_licence_types(session, [library["type"]])[0]
        assert again.ministry == "民政部（新）" and first.ministry == "民政部" and len(loaded) == 1
    finally:
        event.remove(database.engine, "before_cursor_execute", seen)
    with database.reading() as session:
        assert session.scalar(select(LicenceType.version).where(LicenceType.code == library["type"])) == version + 1
        with pytest.raises(NotFound, match="NO-SUCH-TYPE"):
            service.kept_licence_types(session, [library["type"], "NO-SUCH-TYPE"])


def test_issuing_without_a_seal_says_to_create_one(database, operator, world):
    from tests.licenses.conftest import marriage_spec

    with database.unit_of_work() as session:
        service.save_licence_type(session, operator, spec=marriage_spec())
    with database.unit_of_work() as session, pytest.raises(service.NoSeal):
        service.issue_licences(session, operator, type_code="结婚证", drafts=[draft(1)], issuer=OTHER_CODE)


def test_keys_and_status_are_public_but_licences_are_not(client):
    assert client.get("/api/v1/licences/keys").status_code == 200
    assert client.get("/api/v1/licences").status_code == 401
    assert client.get(f"/api/v1/holders/{holder(1)}/licences").status_code == 401


def test_the_qr_code_fits_and_the_seal_is_drawn_from_the_name(database, issued):
    with database.reading() as session:
        lic = service.get_licence(session, issued[0])
        svg = lic.key.seal.image_svg
    text = render.qr_for("https://hub.example.gov.cn", lic.document, lic.signature)
    assert len(text) < 1200 and documents.parse_qr(text)[0] == json.loads(lic.document)
    assert "民" in svg and "证" in svg and svg.startswith("<svg")


def test_the_fast_verify_path_answers_as_the_framework_does(client, login, issued):
    signed = json.dumps(_signed(client, login("boss"), issued[0]))
    fast = client.post("/api/v1/licences/verify", content=signed)
    framework = client.post("/api/v1/licences/verify?lang=en", content=signed)  # a query string: the app answers
    assert fast.status_code == framework.status_code == 200 and fast.json() == framework.json()
    bad_fast = client.post("/api/v1/licences/verify", content=b"junk", headers={"Accept-Language": "en"})
    bad_framework = client.post("/api/v1/licences/verify?lang=en", content=b"junk")
    assert bad_fast.status_code == bad_framework.status_code == 422
    assert bad_fast.json()["detail"] == bad_framework.json()["detail"]


def test_the_bureau_defines_a_type_over_the_api_with_its_layout(client, login, library):
    body = {"name": "离婚证", "ministry": "民政部", "issuers": [OTHER_CODE], "holder_kind": "person",
            "fields": [{"name": "持证人", "element": "DE0002"}, {"name": "登记日期", "element": "DE0020"}],
            "layout": {"title": "离 婚 证", "colour": "#7a1f1f", "note": "凭本证办理相关事项"}}
    code = "11100000000013127D002"
    assert client.put(f"/api/v1/licence-types/{code}", headers=login("dadmin"), json=body).status_code == 403
    saved = client.put(f"/api/v1/licence-types/{code}", headers=login("boss"), json=body)
    assert saved.status_code == 200 and saved.json()["layout"]["colour"] == "#7a1f1f"
    bad = client.put(f"/api/v1/licence-types/{code}", headers=login("boss"),
                     json={**body, "layout": {"colour": "red; drop"}})
    assert bad.status_code == 422
    assert {t["name"] for t in client.get("/api/v1/licence-types", headers=login("clerk1")).json()} == {"结婚证", "离婚证"}


def test_a_lenient_identifier_finds_the_licence(client, login, issued):
    loose = issued[0].removeprefix("1.2.156.3005.2.").lower()
    found = client.get(f"/api/v1/licences/{loose}", headers=login("boss"))
    assert found.status_code == 200 and found.json()["identifier"] == issued[0]


def test_a_seal_signs_only_for_its_department_and_only_while_in_force(client, login, issued, library, database,
                                                                       operator):
    from datetime import datetime, timezone

    boss = login("boss")
    signed = _signed(client, boss, issued[0])
    with database.reading() as session:
        lic = service.get_licence(session, issued[0])
        private = keys.private_key(session, lic.key)
    claimed = json.loads(json.dumps(signed))
    claimed["document"]["issuer"] = {"code": DEPT_CODE, "name": "测试省公安厅"}  # 民政's seal, another issuer
    claimed["signature"] = signing.b64(signing.sign(private, "sm2", signing.canonical(claimed["document"])))
    assert _verify(client, json.dumps(claimed, ensure_ascii=False))["outcome"] == "unknown"
    with database.unit_of_work() as session:
        keys.rotate_seal(session, operator, seal_id=library["seal"])
    late = json.loads(json.dumps(signed))
    late["document"]["issued_at"] = datetime.now(timezone.utc).replace(year=2030).isoformat(timespec="seconds")
    late["signature"] = signing.b64(signing.sign(private, "sm2", signing.canonical(late["document"])))
    assert _verify(client, json.dumps(late, ensure_ascii=False))["outcome"] == "unknown"  # the retired key, later
    assert _verify(client, json.dumps(signed))["outcome"] == "valid"  # what it signed in force still verifies


def test_deeply_nested_json_is_refused_before_it_is_parsed(client):
    deep = b'{"document": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = client.post("/api/v1/licences/verify", content=deep)
    assert response.status_code == 422
    assert documents.read_presented(deep) is None
