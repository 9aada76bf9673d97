"""Webhooks cannot be aimed inside the hub's network, cannot be replayed, and their secrets are
not readable from the database."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from datong.sharing.callbacks import CallbackPolicy
from datong.sharing.models import Subscription
from datong.sharing.subscriptions import new_secret, signed_headers
from tests.sharing.test_sharing import ask, shared  # noqa: F401 - the fixture

INTERNAL = ["http://127.0.0.1:5432/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/hook",
            "http://10.1.2.3/hook", "http://localhost:8000/hook", "http://0.0.0.0/", "http://192.168.1.1/",
            "http://[::ffff:127.0.0.1]/hook", "http://100.64.0.1/"]


def subscribe(client, shared, url):
    ask(client, shared["system"], shared["open"], ["姓名"])
    grant = client.get("/api/v1/share/grants", headers=shared["system"]).json()["items"][0]
    return client.post("/api/v1/share/subscriptions", headers={**shared["system"], "Accept-Language": "en"},
                       json={"grant_id": grant["id"], "callback_url": url})


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_callbacks_are_refused(client, shared, url):
    answer = subscribe(client, shared, url)
    assert answer.status_code == 422, answer.text
    assert "DATONG_CALLBACK_ALLOW" in answer.json()["detail"]


def test_a_public_callback_is_accepted_and_its_secret_is_sealed(client, shared, database):
    answer = subscribe(client, shared, "https://93.184.215.14/hook")
    assert answer.status_code == 201, answer.text
    secret = answer.json()["secret"]
    with database.reading() as session:
        stored = session.scalar(select(Subscription.secret))
    assert stored.startswith("fernet:") and secret not in stored and secret[6:] not in stored


def test_unresolvable_and_odd_callbacks_are_refused(client, shared):
    for url in ("http://no-such-host.invalid/hook", "ftp://93.184.215.14/", "file:///etc/passwd", "http:///x"):
        answer = subscribe(client, shared, url)
        assert answer.status_code == 422, (url, answer.text)


class Receiver:
    def __init__(self) -> None:
        self.hits = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                hits.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_delivery_checks_again_and_connects_to_the_checked_address():
    receiver = Receiver()
    try:
        url = f"http://localhost:{receiver.port}/hook"
        refused, why = CallbackPolicy("").post(url, b"{}", {}, timeout=5)
        assert not refused and "internal address" in why and receiver.hits == []
        assert CallbackPolicy("localhost").post(url, b"{}", {}, timeout=5) == (True, None)
        assert CallbackPolicy("127.0.0.0/8").post(url, b"{}", {}, timeout=5) == (True, None)
        headers, _ = receiver.hits[0]
        assert headers["Host"] == f"localhost:{receiver.port}"  # the name, though the address was pinned
    finally:
        receiver.server.shutdown()


def test_signatures_refuse_replays_and_tampering():
    secret, body = new_secret(), '{"event": "updated"}'.encode()
    fresh = signed_headers(secret, "dtd-7", body)
    assert Webhook(secret).verify(body, fresh) == {"event": "updated"}
    stale = signed_headers(secret, "dtd-7", body, at=datetime.now(timezone.utc) - timedelta(minutes=10))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, stale)  # a captured delivery replayed later
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"event": "deleted"}', fresh)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, fresh)
