"""The hot path (datong.sharing.hot) answers the governed GET reads as the framework would, and
hands every other request to the app untouched."""

import json
from urllib.parse import quote

import anyio
import pytest
from sqlalchemy import func, select

from datong.security.models import AuditEvent
from datong.sharing.hot import GovernedReads
from tests.sharing.test_sharing import ask

PURPOSE = quote("资格核查")


def _audited(database) -> int:
    with database.reading() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action.in_(("share.read", "share.subject"))))


class Inner:
    """Stands for the rest of the app: records that it was called and answers 418."""

    def __init__(self) -> None:
        self.called = 0

    async def __call__(self, scope, receive, send) -> None:
        self.called += 1
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _call(app, hot, path: str, headers: dict, *, method="GET", query=b"") -> tuple[int, dict | None]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": query,
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "server": ("testserver", 80), "client": ("127.0.0.1", 1234), "app": app, "state": {}}
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    anyio.run(hot, scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body) if body else None


@pytest.fixture
def granted(client, shared):
    assert ask(client, shared["system"], shared["open"], ["公民身份号码", "姓名", "出生日期"]).status_code == 201
    headers = {**shared["system"], "X-Purpose": PURPOSE, "X-Case-No": "A-1", "Accept-Language": "en"}
    key = shared["rows"][0][0]
    assert client.get(f"/api/v1/share/{shared['open']}/records/{key}", headers=headers).status_code == 200  # cached
    return headers, key


def test_taken_only_when_plain_and_known(app, database, shared, granted):
    headers, key = granted
    inner = Inner()
    hot = GovernedReads(inner)
    url = f"/api/v1/share/{shared['open']}/records/{key}"
    before = _audited(database)
    status, body = _call(app, hot, url, headers)
    assert (status, inner.called) == (200, 0) and body["record"]["姓名"] == shared["rows"][0][1]
    assert _audited(database) == before + 1  # audited, and committed before the answer
    status, body = _call(app, hot, f"/api/v1/share/subjects/{key}", headers)
    assert (status, inner.called) == (200, 0) and body["resources"][0]["resource"] == shared["open"]
    assert _audited(database) == before + 2

    handed = [
        (url, {**headers, "Authorization": "Bearer not-a-token-we-know"}, "GET", b""),
        (url, headers, "GET", b"lang=en"),  # a query string: the app checks its parameters
        (url, {k: v for k, v in headers.items() if k != "X-Purpose"}, "GET", b""),  # the app words the 400
        (url, {**headers, "X-Purpose": "\x01"}, "GET", b""),
        (url, headers, "POST", b""),
        # /export is declared before /records/{key}: the router gives it this path, so must we
        (f"/api/v1/share/{shared['open']}/records/export", headers, "GET", b""),
        ("/api/v1/share/requests", headers, "GET", b""),
    ]
    for n, (path, sent, method, query) in enumerate(handed, start=1):
        status, _ = _call(app, hot, path, sent, method=method, query=query)
        assert (status, inner.called) == (418, n), path
    assert _audited(database) == before + 2  # nothing read on the way past


def test_same_answers_and_refusals_as_the_framework(client, database, shared, granted):
    """The same reads through the hot path (no query string) and through FastAPI (``?lang=en``,
    the language the hot path negotiates from Accept-Language here): identical answers, one audit
    event each."""
    headers, key = granted
    urls = [f"/api/v1/share/{shared['open']}/records/{key}",     # found
            f"/api/v1/share/{shared['open']}/records/{'1' * 18}",  # no such record: 404
            f"/api/v1/share/{shared['code']}/records/{key}",     # no grant: 403, audited as denied
            "/api/v1/share/nosuch/000001/records/x",             # no such resource: 404
            f"/api/v1/share/subjects/{key}",
            f"/api/v1/share/subjects/{'1' * 18}"]
    for url in urls:
        before = _audited(database)
        hot = client.get(url, headers=headers)
        framework = client.get(url, params={"lang": "en"}, headers=headers)
        assert hot.status_code == framework.status_code, url
        assert hot.json() == framework.json(), url
        assert hot.headers["content-type"] == framework.headers["content-type"]
        expected = 0 if "nosuch" in url else 2
        assert _audited(database) == before + expected, url

