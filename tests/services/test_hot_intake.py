"""The intake's hot path (datong.services.hot) answers open, form and accept as the framework
would, and hands every other request to the app untouched, its body as it came."""

from __future__ import annotations

import json

import anyio
from sqlalchemy import select

from datong.security.models import AuditEvent
from datong.services.hot import MAX_BODY, FastIntake
from datong.services.models import Case
from tests.services.conftest import CERTIFICATE


class Inner:
    """Stands for the rest of the app: keeps the body it was handed and answers 418."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope, receive, send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _call(app, hot, method: str, path: str, headers: dict, body: bytes = b"", query: bytes = b"",
          chunk: int = 1 << 30) -> tuple[int, dict | None]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": query,
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "server": ("testserver", 80), "client": ("127.0.0.1", 1234), "app": app, "state": {}}
    parts, sent = [body[i:i + chunk] for i in range(0, len(body), chunk)] or [b""], []

    async def receive():
        part = parts.pop(0)
        return {"type": "http.request", "body": part, "more_body": bool(parts)}

    async def send(message):
        sent.append(message)

    anyio.run(hot, scope, receive, send)
    answer = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(answer) if answer else None


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def test_open_form_and_accept_are_answered_ahead_of_the_app(app, client, login, window, database):
    clerk = login("clerk1")
    assert client.get("/api/v1/cases", headers=clerk).status_code == 200  # the token is verified and cached
    inner, hot = Inner(), FastIntake(Inner())
    hot.app = inner
    headers = {**clerk, "Content-Type": "application/json", "Accept-Language": "en"}
    status, case = _call(app, hot, "POST", "/api/v1/cases", headers,
                         _json({"applicant": window["people"][1], "item": CERTIFICATE, "authorised": True}))
    assert (status, inner.bodies) == (201, []) and case["form"]["姓名"] == "王建国"
    number = case["number"]
    with database.reading() as session:  # committed before the answer, its reads audited with the number
        assert session.scalar(select(Case.status).where(Case.number == number)) == "draft"
        assert session.scalar(select(AuditEvent.seq).where(AuditEvent.case_number == number)) is not None
    status, problem = _call(app, hot, "POST", f"/api/v1/cases/{number}/accept", headers)
    assert (status, problem["code"]) == (409, "case_not_ready") and "联系地址" in problem["detail"]  # the app's words
    status, problem = _call(app, hot, "PATCH", f"/api/v1/cases/{number}/form", headers, _json({"values": {"不存在": "x"}}))
    assert (status, problem["code"]) == (422, "invalid_input")
    status, form = _call(app, hot, "PATCH", f"/api/v1/cases/{number}/form", headers,
                         _json({"values": {"联系地址": "杭州市西湖区文三路1号"}}), chunk=7)  # a body in several parts
    assert status == 200 and form["form"]["联系地址"] == "杭州市西湖区文三路1号"
    assert inner.bodies == []
    # the same case read through the app shows what the hot path wrote
    assert client.get(f"/api/v1/cases/{number}", headers=clerk).json()["form"]["联系地址"] == "杭州市西湖区文三路1号"


def test_anything_else_goes_to_the_app_with_its_body(app, client, login, window):
    clerk = login("clerk1")
    assert client.get("/api/v1/cases", headers=clerk).status_code == 200
    good = _json({"applicant": window["people"][1], "item": CERTIFICATE})
    headers = {**clerk, "Content-Type": "application/json"}
    handed = [
        ("POST", "/api/v1/cases", {**headers, "Authorization": "Bearer not-a-token-we-know"}, good, b""),
        ("POST", "/api/v1/cases", headers, good, b"lang=en"),  # a query string: the app checks its parameters
        ("POST", "/api/v1/cases", {**headers, "Content-Type": "text/plain"}, good, b""),
        ("POST", "/api/v1/cases", headers, _json({"applicant": "x", "item": CERTIFICATE, "extra": 1}), b""),
        ("POST", "/api/v1/cases", headers, b'{"applicant": ', b""),  # not JSON: the app words the 422
        ("PATCH", "/api/v1/cases/YC1/form", headers, _json({"values": {"a": "x" * MAX_BODY}}), b""),  # too large
        ("GET", "/api/v1/cases", headers, b"", b""),
        ("PUT", "/api/v1/cases/YC1/materials/户口簿", headers, b"%PDF-1.4", b""),
    ]
    for method, path, sent_headers, body, query in handed:
        inner, hot = Inner(), FastIntake(Inner())
        hot.app = inner
        status, _ = _call(app, hot, method, path, sent_headers, body, query, chunk=1000)
        assert (status, inner.bodies) == (418, [body]), (method, path, sent_headers.get("Content-Type"), query)


def test_the_app_still_words_what_the_hot_path_hands_on(client, login, window):
    clerk = login("clerk1")
    assert client.get("/api/v1/cases", headers=clerk).status_code == 200
    refused = client.post("/api/v1/cases", headers=clerk, json={"applicant": window["people"][1], "item": CERTIFICATE,
                                                                 "unknown": True})
    assert refused.status_code == 422 and "unknown" in refused.text
    assert client.post("/api/v1/cases", headers={"Authorization": "Bearer nope"},
                       json={"applicant": window["people"][1], "item": CERTIFICATE}).status_code == 401
