"""Subscriptions: changes reach a receiver that fails and recovers, signed, at least once."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook
from sqlalchemy import select, update

from datong.db.base import utcnow
from datong.ingest.flows import run_load
from datong.ingest.sources import Source
from datong.security.models import AuditEvent
from datong.sharing.models import Delivery
from datong.sharing.subscriptions import deliver_due
from tests.ingest.conftest import write_csv
from tests.sharing.test_sharing import HEADER, ask, shared  # noqa: F401


class Receiver:
    """An HTTP receiver on loopback that answers 503 while ``failing`` is set."""

    def __init__(self):
        self.received, self.failing = [], 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.failing:
                    outer.failing -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                outer.received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"


@pytest.fixture
def settings(settings):
    """The test receivers listen on 127.0.0.1, which callbacks may reach only when allowed."""
    return settings.model_copy(update={"callback_allow": "127.0.0.1"})


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


def due_now(database):
    with database.unit_of_work() as session:
        session.execute(update(Delivery).values(next_attempt_at=utcnow()))


def test_changes_are_delivered_signed_through_failures(client, database, operator, shared, receiver, tmp_path):
    ask(client, shared["system"], shared["open"], ["公民身份号码", "姓名", "出生日期"])
    grant = client.get("/api/v1/share/grants", headers=shared["system"]).json()["items"][0]
    watched = shared["rows"][1][0]
    answer = client.post("/api/v1/share/subscriptions", headers=shared["system"], json={
        "grant_id": grant["id"], "callback_url": receiver.url, "keys": [watched]})
    assert answer.status_code == 201, answer.text
    secret = answer.json()["secret"]

    rows = [list(r) for r in shared["rows"]]
    rows[1][1] = "改名"  # the watched person changes; someone else leaves
    rows[0][1] = "别人改名"
    del rows[3]
    run_load(database, operator, resource_code=shared["open"], mode="full",
             source=Source.from_path(write_csv(tmp_path / "again.csv", HEADER, rows)))
    with database.unit_of_work() as session:
        queued = list(session.scalars(select(Delivery)))
    assert [(d.event, d.record_key) for d in queued] == [("updated", watched)]  # only the watched key

    receiver.failing = 2
    assert deliver_due(database) == {"delivered": 0, "failed": 1, "dead": 0}
    assert deliver_due(database) == {"delivered": 0, "failed": 0, "dead": 0}  # backing off
    due_now(database)
    deliver_due(database)  # fails again: the receiver is still down
    due_now(database)
    assert deliver_due(database)["delivered"] == 1  # recovered; a new worker would do the same
    headers, body = receiver.received[0]
    assert secret.startswith("whsec_")
    message = Webhook(secret).verify(body, dict(headers))  # the receiver's own check (raises if wrong)
    assert headers["webhook-id"] == f"dtd-{queued[0].id}" and headers["X-Datong-Event"] == "updated"
    assert message["event"] == "updated" and message["record"]["姓名"] == "改名"
    assert message["record"]["公民身份号码"] != watched  # masked per the grant
    listed = client.get("/api/v1/share/deliveries", headers=shared["system"]).json()["items"]
    assert listed[0]["attempts"] == 3 and listed[0]["delivered_at"]


def test_a_receiver_that_never_answers_fills_the_dead_letters(client, database, operator, shared, receiver,
                                                             tmp_path):
    ask(client, shared["system"], shared["open"], ["公民身份号码", "姓名"])
    grant = client.get("/api/v1/share/grants", headers=shared["system"]).json()["items"][0]
    client.post("/api/v1/share/subscriptions", headers=shared["system"],
                json={"grant_id": grant["id"], "callback_url": receiver.url, "events": ["deleted"]})
    run_load(database, operator, resource_code=shared["open"], mode="full",
             source=Source.from_path(write_csv(tmp_path / "fewer.csv", HEADER, shared["rows"][:4])))
    receiver.failing = 100
    for _ in range(3):
        due_now(database)
        deliver_due(database, max_attempts=3)
    dead = client.get("/api/v1/share/deliveries?dead=true", headers=shared["system"]).json()["items"]
    assert len(dead) == 1 and dead[0]["event"] == "deleted" and dead[0]["last_error"] == "HTTP 503"
    receiver.failing = 0
    assert client.post(f"/api/v1/share/deliveries/{dead[0]['id']}/retry", headers=shared["system"]).status_code == 200
    assert deliver_due(database)["delivered"] == 1
    assert json.loads(receiver.received[0][1])["record"] is None
    with database.reading() as session:  # the failed attempts, the dead letter and the requeue are audited
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("share.deliver%"))
                                       .order_by(AuditEvent.seq)))
    assert actions == ["share.deliver.retry"] * 2 + ["share.deliver.dead", "share.deliver.requeue", "share.deliver"]


def test_subscribing_needs_an_active_grant_and_a_subscription_method(client, shared, login):
    ask(client, shared["system"], shared["open"], ["姓名"])
    grant = client.get("/api/v1/share/grants", headers=shared["system"]).json()["items"][0]
    bad = client.post("/api/v1/share/subscriptions", headers=shared["system"],
                      json={"grant_id": grant["id"], "callback_url": "ftp://x"})
    assert bad.status_code == 422
    client.post(f"/api/v1/share/grants/{grant['id']}/revoke", headers=login("dadmin"), json={"reason": "结束"})
    revoked = client.post("/api/v1/share/subscriptions", headers=shared["system"],
                          json={"grant_id": grant["id"], "callback_url": "http://127.0.0.1:9/x"})
    assert revoked.status_code == 422


def test_datong_worker_delivers_from_the_command_line(client, database, operator, shared, receiver, tmp_path,
                                                     settings):
    from tests.cli.test_cli import run

    ask(client, shared["system"], shared["open"], ["姓名"])
    grant = client.get("/api/v1/share/grants", headers=shared["system"]).json()["items"][0]
    client.post("/api/v1/share/subscriptions", headers=shared["system"],
                json={"grant_id": grant["id"], "callback_url": receiver.url})
    run_load(database, operator, resource_code=shared["open"], mode="full", allow_deletes=True,
             source=Source.from_path(write_csv(tmp_path / "less.csv", HEADER, shared["rows"][:3])))
    result = run(settings, "worker", "--once")
    assert result.exit_code == 0 and "delivered 2, failed 0, dead letters 0" in result.output
    assert sorted(json.loads(body)["event"] for _, body in receiver.received) == ["deleted", "deleted"]


def test_subscriptions_are_listed_changed_and_ended_and_never_doubled(client, database, operator, shared, receiver,
                                                                      login, tmp_path):
    ask(client, shared["system"], shared["open"], ["公民身份号码", "姓名"])
    grant = client.get("/api/v1/share/grants", headers=shared["system"]).json()["items"][0]
    made = client.post("/api/v1/share/subscriptions", headers=shared["system"],
                       json={"grant_id": grant["id"], "callback_url": receiver.url})
    again = client.post("/api/v1/share/subscriptions", headers=shared["system"],
                        json={"grant_id": grant["id"], "callback_url": receiver.url, "events": ["deleted"]})
    assert again.status_code == 409 and f"#{made.json()['id']}" in again.json()["detail"]
    sub = made.json()["id"]
    listed = client.get("/api/v1/share/subscriptions", headers=shared["system"]).json()["items"]
    assert [(s["id"], s["active"], s["callback_url"]) for s in listed] == [(sub, True, receiver.url)]
    assert client.get("/api/v1/share/subscriptions", headers=login("dadmin")).json()["items"] == []  # the provider's own: none

    changed = client.patch(f"/api/v1/share/subscriptions/{sub}", headers=shared["system"],
                           json={"events": ["deleted"], "callback_url": receiver.url + "?v=2"})
    assert changed.status_code == 200 and changed.json()["events"] == ["deleted"]
    internal = client.patch(f"/api/v1/share/subscriptions/{sub}", headers=shared["system"],
                            json={"callback_url": "http://169.254.169.254/latest"})
    assert internal.status_code == 422  # checked as at subscribe
    assert client.patch(f"/api/v1/share/subscriptions/{sub}", headers=login("dadmin"),
                        json={"events": ["updated"]}).status_code == 403  # not the provider's to change

    run_load(database, operator, resource_code=shared["open"], mode="full",
             source=Source.from_path(write_csv(tmp_path / "fewer.csv", HEADER, shared["rows"][:4])))
    ended = client.delete(f"/api/v1/share/subscriptions/{sub}", headers=shared["system"])
    assert ended.status_code == 200 and ended.json()["active"] is False
    assert client.delete(f"/api/v1/share/subscriptions/{sub}", headers=shared["system"]).status_code == 422
    assert deliver_due(database) == {"delivered": 0, "failed": 0, "dead": 1}  # queued before the end: not sent
    assert receiver.received == []
    dead = client.get("/api/v1/share/deliveries?dead=true", headers=shared["system"]).json()["items"]
    assert dead[0]["last_error"] == "the subscription was ended"
    renewed = client.post("/api/v1/share/subscriptions", headers=shared["system"],
                          json={"grant_id": grant["id"], "callback_url": receiver.url})
    assert renewed.status_code == 201  # an ended one does not block a new one
    with database.reading() as session:
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("share.%subscri%"))))
    assert {"share.subscribe", "share.subscription.update", "share.unsubscribe"} <= actions


def test_the_console_says_when_no_delivery_worker_runs(client, database, operator, shared, receiver, tmp_path):
    import re

    from tests.helpers import PASSWORD

    ask(client, shared["system"], shared["open"], ["公民身份号码", "姓名"])
    grant = client.get("/api/v1/share/grants", headers=shared["system"]).json()["items"][0]
    client.post("/api/v1/share/subscriptions", headers=shared["system"],
                json={"grant_id": grant["id"], "callback_url": receiver.url})
    run_load(database, operator, resource_code=shared["open"], mode="full",
             source=Source.from_path(write_csv(tmp_path / "fewer.csv", HEADER, shared["rows"][:4])))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "boss", "password": PASSWORD, "csrf_token": token})
    page = client.get("/share/deliveries").text
    assert 'data-testid="no-worker"' in page and "datong worker" in page
    receiver.failing = 100  # a worker runs a round (and fails to deliver): it has reported
    deliver_due(database)
    page = client.get("/share/deliveries").text
    assert 'data-testid="no-worker"' not in page and 'data-testid="worker-seen"' in page
    assert 'data-subscription="' in page
