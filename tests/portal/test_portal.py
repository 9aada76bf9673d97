"""The citizen portal through its API and services: sign-in with a one-time code to the phone the
registry holds, who used my data, flags for the auditor, notices, my applications."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from datong.portal import service as portal_service
from datong.registry import service as registry
from datong.security.authz import Actor
from datong.security.models import AuditEvent
from datong.services.models import Notice
from tests.portal.conftest import COMPANY, PHONE, sent_code, sign_in
from tests.services.conftest import ALLOWANCE, staff


def _events(database, action: str) -> list[AuditEvent]:
    with database.reading() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def test_a_person_signs_in_with_the_code_sent_to_the_registry_phone(client, database, portal):
    me = portal["people"][1]
    sent = client.post("/api/v1/portal/codes", json={"id_number": me})
    assert sent.status_code == 201 and sent.json()["phone"] == "138****0001"
    challenge, code = sent.json()["challenge"], sent_code(client, PHONE[1])
    wrong = "000000" if code != "000000" else "111111"
    refused = client.post("/api/v1/portal/tokens", json={"challenge": challenge, "code": wrong})
    assert refused.status_code == 401 and refused.json()["code"] == "wrong_code" and "4" in refused.json()["detail"]
    token = client.post("/api/v1/portal/tokens", json={"challenge": challenge, "code": code})
    assert token.status_code == 201 and token.json()["holder"] == me and token.json()["name"] == "王建国"
    again = client.post("/api/v1/portal/tokens", json={"challenge": challenge, "code": code})
    assert again.status_code == 401 and again.json()["code"] == "code_expired"  # one use only
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert client.get("/api/v1/me/notices", headers=headers).status_code == 200
    assert client.get("/api/v1/service-items", headers=headers).status_code in (200, 403)  # a holder, not staff
    logins = _events(database, "portal.login")
    assert [e.outcome for e in logins] == ["denied", "success"] and all(e.subjects == [me] for e in logins)
    assert _events(database, "portal.code")[0].subjects == [me]


def test_five_wrong_codes_use_the_code_up(client, portal):
    sent = client.post("/api/v1/portal/codes", json={"id_number": portal["people"][1]}).json()
    code = sent_code(client, PHONE[1])
    wrong = "000000" if code != "000000" else "111111"
    answers = [client.post("/api/v1/portal/tokens", json={"challenge": sent["challenge"], "code": wrong}).json()["code"]
               for _ in range(5)]
    assert answers == ["wrong_code"] * 4 + ["code_expired"]
    late = client.post("/api/v1/portal/tokens", json={"challenge": sent["challenge"], "code": code})
    assert late.status_code == 401  # the right code no longer helps


def test_unknown_numbers_and_floods_are_refused_and_audited(client, database, portal):
    from tests.helpers import citizen_id

    stranger = citizen_id(77, "19700101")
    unknown = client.post("/api/v1/portal/codes", json={"id_number": stranger})
    assert unknown.status_code == 404 and unknown.json()["code"] == "no_phone_on_record"
    assert client.post("/api/v1/portal/codes", json={"id_number": "330106197001011234"}).status_code == 422
    denied = [e for e in _events(database, "portal.code") if e.outcome == "denied"]
    assert denied and denied[0].subjects == [stranger]
    me = portal["people"][3]
    answers = [client.post("/api/v1/portal/codes", json={"id_number": me}) for _ in range(6)]
    assert [a.status_code for a in answers] == [201] * 5 + [429]
    assert int(answers[-1].headers["Retry-After"]) > 0


def test_a_company_signs_in_through_its_legal_representative(client, portal):
    people = portal["people"]
    headers = sign_in(client, people[1], PHONE[1], credit_code=COMPANY[0])
    assert client.get("/api/v1/me/cases", headers=headers).json() == {"total": 0, "total_exact": True, "cases": []}
    wrong = client.post("/api/v1/portal/codes", json={"id_number": people[3], "credit_code": COMPANY[0]})
    assert wrong.status_code == 403 and wrong.json()["code"] == "not_legal_representative"


def test_who_used_my_data_shows_others_reads_in_plain_words_and_a_flag_reaches_the_auditor(client, database, portal, login):
    me, other = portal["people"][1], portal["people"][3]
    with database.reading() as session:
        registry.read_subject(session, staff(session, "clerk1"), kind="person", key=me, purpose="核验户籍",
                              case_number="AJ-2026-1")
    headers = sign_in(client, me, PHONE[1])
    uses = client.get("/api/v1/me/data-uses", headers=headers).json()
    read = next(u for u in uses["uses"] if u["case_number"] == "AJ-2026-1")
    assert read["by"] == "CLERK1" and read["by_kind"] == "staff" and read["purpose"] == "核验户籍"
    assert read["resource"] == "人口综合库" and read["department"] and "姓名" in read["items"]
    assert all(u["action"] != "portal.data_uses" for u in uses["uses"])  # my own looking is not a use by others
    flagged = client.post(f"/api/v1/me/data-uses/{read['seq']}/flag", headers=headers, json={"reason": "我没有去办事"})
    assert flagged.status_code == 201
    again = client.post(f"/api/v1/me/data-uses/{read['seq']}/flag", headers=headers, json={"reason": "再次"})
    assert again.status_code == 409
    theirs = sign_in(client, other, PHONE[3])
    assert client.post(f"/api/v1/me/data-uses/{read['seq']}/flag", headers=theirs, json={"reason": "x"}).status_code == 404
    assert all(u["seq"] != read["seq"] for u in client.get("/api/v1/me/data-uses", headers=theirs).json()["uses"])
    assert client.get("/api/v1/audit/flags", headers=login("clerk1")).status_code == 403
    flags = client.get("/api/v1/audit/flags", headers=login("aud")).json()
    assert [(f["holder"], f["seq"], f["actor"]) for f in flags] == [(me, read["seq"], "clerk1")]
    closed = client.post(f"/api/v1/audit/flags/{flags[0]['id']}/close", headers=login("aud"),
                         json={"finding": "经核查系窗口人员为您办理户籍业务时查询"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    notices = client.get("/api/v1/me/notices", headers=headers).json()["notices"]
    assert notices[0]["kind"] == "flag_closed" and "户籍业务" in notices[0]["text"]
    assert client.get("/api/v1/audit/flags", headers=login("aud")).json() == []


def test_only_the_holder_opens_their_space_and_it_lists_their_applications(client, database, portal):
    from datong.errors import PermissionDenied
    from datong.services import intake

    me = portal["people"][1]
    with database.reading() as session:
        for actor in (staff(session, "clerk1"), Actor.system("tests")):
            with pytest.raises(PermissionDenied):
                portal_service.data_uses(session, actor)
    with database.unit_of_work() as session:
        case = intake.open_case(session, Actor.holder(me), applicant=me, item=ALLOWANCE, channel="online")
        intake.accept_case(session, Actor.holder(me), number=case.number)
    listed = client.get("/api/v1/me/cases", headers=sign_in(client, me, PHONE[1])).json()
    assert [(c["number"], c["channel"]) for c in listed["cases"]] == [(case.number, "online")]
    with database.reading() as session:
        assert session.scalar(select(Notice.kind).where(Notice.holder_key == me))
