"""The purpose of a read, however a client encodes it, reaches the audit chain exactly; the purpose
rule and the batch limit hold in the service, whoever calls it."""

from __future__ import annotations

import http.client
import json
from urllib.parse import quote

import pytest
from sqlalchemy import select

from datong.security.models import AuditEvent
from datong.sharing import service
from datong.sharing.service import PurposeRequired, TooManyKeys
from tests.sharing.test_sharing import ask, shared  # noqa: F401 - the fixture

PURPOSE = "低保资格审核（第3批）"


def last_read(database) -> AuditEvent:
    with database.reading() as session:
        return session.scalars(select(AuditEvent).where(AuditEvent.action == "share.read")
                               .order_by(AuditEvent.seq.desc())).first()


@pytest.mark.parametrize("sent", [
    PURPOSE.encode("utf-8"),  # raw UTF-8 bytes
    quote(PURPOSE),  # percent-encoded
    "UTF-8''" + quote(PURPOSE),  # an RFC 8187 ext-value
    "utf-8''" + quote(PURPOSE),
])
def test_purpose_is_stored_exactly(client, shared, database, sent):
    ask(client, shared["system"], shared["open"], ["姓名"])
    key = shared["rows"][0][0]
    answer = client.get(f"/api/v1/share/{shared['open']}/records/{key}",
                        headers={**shared["system"], "X-Purpose": sent, "X-Case-No": quote("民政〔2026〕7号")})
    assert answer.status_code == 200, answer.text
    event = last_read(database)
    assert event.purpose == PURPOSE and event.case_number == "民政〔2026〕7号"


def raw_get(base: str, path: str, headers: dict[str, str | bytes]) -> tuple[int, dict]:
    """http.client sends header bytes exactly as given (httpx would re-encode them)."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("GET", path)
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    return response.status, body


@pytest.mark.parametrize("sent", [b"\xff\xfe\xfd", b"%E4%BD", b"%00abc", b"\xe4\xbd"])
def test_undecodable_purpose_is_400_and_reads_nothing(client, shared, database, live_server, sent):
    ask(client, shared["system"], shared["open"], ["姓名"])
    before = last_read(database)
    status, body = raw_get(live_server, quote(f"/api/v1/share/{shared['open']}/records/{shared['rows'][0][0]}"),
                           {**shared["system"], "X-Purpose": sent, "Accept-Language": "en"})
    assert status == 400, body
    assert body["code"] == "bad_header_text" and "X-Purpose" in body["detail"]
    assert last_read(database) is None or last_read(database).seq == before.seq


def test_the_service_enforces_purpose_and_batch_limit(client, shared, database):
    from datong.security.models import ApiClient
    from datong.security.service import actor_for_client

    ask(client, shared["system"], shared["open"], ["姓名"])
    with database.reading() as session:
        actor = actor_for_client(session.scalar(select(ApiClient).where(ApiClient.client_id == shared["client_id"])))
        with pytest.raises(PurposeRequired):
            service.read_records(session, actor, resource_code=shared["open"], keys=["x"], purpose="   ")
        with pytest.raises(PurposeRequired):
            service.subject_view(session, actor, number=shared["rows"][0][0], purpose="")
        session.info["share_batch_limit"] = 3
        try:
            with pytest.raises(TooManyKeys):
                service.read_records(session, actor, resource_code=shared["open"], keys=list("abcd"), purpose="核查")
            assert service.read_records(session, actor, resource_code=shared["open"], keys=list("abc"),
                                        purpose="核查")["missing"] == ["A", "B", "C"]
        finally:
            session.info["share_batch_limit"] = 1000


def test_a_department_does_not_request_its_own_resource(client, shared, login):
    answer = client.post("/api/v1/share/requests", headers=login("dadmin") | {"Accept-Language": "en"}, json={
        "resource": shared["code"], "items": ["姓名"], "purpose": "核查", "legal_basis": "x", "days": 30})
    assert answer.status_code == 422 and "your own department's resource" in answer.json()["detail"]
