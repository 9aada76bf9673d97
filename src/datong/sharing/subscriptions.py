"""Subscriptions (数据订阅): changes go to an outbox in the load's own transaction, and the worker
delivers them to the subscriber's callback, signed, at least once, with retries and a dead-letter
list. Nothing is lost when the worker or the receiver stops: the outbox is in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlparse

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from datong.db.base import utcnow
from datong.db.engine import Database
from datong.errors import InvalidInput, NotFound
from datong.i18n import N_, Term
from datong.security.audit import append_event
from datong.security.authz import Actor, Target, authorize, service
from datong.sharing import service as sharing
from datong.sharing.models import Delivery, Grant, Subscription
from datong.warehouse.engine import sql_string

EVENTS = {"I": "inserted", "U": "updated", "D": "deleted"}
MAX_ATTEMPTS = 8
SUBSCRIPTION = Term(N_("Subscription"))


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@service(mutates=True)
def subscribe(session: Session, actor: Actor, *, grant_id: int, callback_url: str, keys: list[str] | None = None,
              events: list[str] | None = None) -> tuple[Subscription, str]:
    """Subscribe the consumer to changes under one of its grants; returns the signing secret once."""
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound(what=sharing.GRANT, key=str(grant_id))
    authorize(actor, "share.request", Target("grant", str(grant_id), grant.consumer_id))
    if sharing.grant_state(grant) != "active":
        raise InvalidInput(field="grant_id", reason=Term(N_("the grant is not active")))
    if "subscription" not in grant.resource.sharing_methods:
        raise InvalidInput(field="grant_id", reason=Term(N_("the resource is not shared by subscription")))
    url = urlparse(callback_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise InvalidInput(field="callback_url", reason=Term(N_("an http:// or https:// address")))
    chosen = events or list(EVENTS.values())
    if not set(chosen) <= set(EVENTS.values()):
        raise InvalidInput(field="events", reason=Term(N_("inserted, updated or deleted")))
    secret = secrets.token_urlsafe(32)
    subscription = Subscription(grant=grant, resource_id=grant.resource_id, consumer_id=grant.consumer_id,
                                callback_url=callback_url, secret=secret,
                                keys=[k.strip().upper() for k in keys] if keys else None, events=chosen,
                                created_by=actor.name)
    session.add(subscription)
    session.flush()
    append_event(session, actor=actor, action="share.subscribe", target=Target("grant", str(grant.id)),
                 detail={"subscription": subscription.id, "callback": callback_url, "keys": len(keys or [])})
    return subscription, secret


def enqueue(session: Session, con: duckdb.DuckDBPyConnection, resource_id: int, load_id: int) -> int:
    """Put the load's changes for every active subscription of the resource into the outbox
    (called inside the load's transaction, after ``changes`` and ``deletes`` exist in DuckDB)."""
    subscriptions = [s for s in session.scalars(select(Subscription).where(Subscription.resource_id == resource_id,
                                                                           Subscription.active.is_(True)))
                     if sharing.grant_state(s.grant) == "active"]
    queued = 0
    if subscriptions:
        con.execute("CREATE OR REPLACE TEMP TABLE deleted_keys AS "
                    "SELECT __key, unnest(string_split(__key, '|')) AS value FROM deletes")
    for sub in subscriptions:
        wanted = [code for code, name in EVENTS.items() if name in sub.events]
        key_filter = ""
        if sub.keys:
            listed = ", ".join(sql_string(k) for k in sub.keys)
            key_filter = f"AND __key IN (SELECT __key FROM new_keys WHERE value IN ({listed}) " \
                         f"UNION SELECT __key FROM deleted_keys WHERE value IN ({listed}))"
        rows = con.execute(f"""
            SELECT change, __key, payload FROM changes WHERE change IN ('I', 'U') {key_filter}
            UNION ALL SELECT 'D', __key, NULL FROM deletes WHERE true {key_filter}""").fetchall()
        now = utcnow()
        for change, key, payload in rows:
            if change not in wanted:
                continue
            record = sharing.shape_payload(session, sub.grant, json.loads(payload)) if payload else None
            body = {"subscription": sub.id, "event": EVENTS[change], "resource": sub.grant.resource.code,
                    "key": key, "record": record, "load": load_id, "occurred_at": now.isoformat(timespec="seconds")}
            session.add(Delivery(subscription_id=sub.id, load_id=load_id, event=EVENTS[change], record_key=key,
                                 body=json.dumps(body, ensure_ascii=False, sort_keys=True),
                                 subjects=[k for k in key.split("|") if k], next_attempt_at=now))
            queued += 1
    return queued


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[bool, str | None]:
    """One POST with the standard library: a webhook is one request, no session or pool to keep."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) checked on subscribe
            return 200 <= response.status < 300, None if 200 <= response.status < 300 else f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return False, f"HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return False, type(error).__name__ + ": " + str(getattr(error, "reason", error))[:200]


def deliver_due(database: Database, *, limit: int = 100, max_attempts: int = MAX_ATTEMPTS,
                timeout: float = 10.0) -> dict[str, int]:
    """Deliver what is due, oldest first; one transaction per delivery, so a crash repeats at
    most the one in flight (receivers deduplicate by ``X-Datong-Delivery``)."""
    counts = {"delivered": 0, "failed": 0, "dead": 0}
    with database.unit_of_work() as session:
        due = list(session.scalars(select(Delivery.id).where(Delivery.delivered_at.is_(None), Delivery.dead.is_(False),
                                                             Delivery.next_attempt_at <= utcnow())
                                   .order_by(Delivery.id).limit(limit)))
    worker = Actor.system("worker")
    for delivery_id in due:
        with database.unit_of_work() as session:
            delivery = session.get(Delivery, delivery_id)
            sub = delivery.subscription
            if sharing.grant_state(sub.grant) != "active" or not sub.active:
                delivery.dead, delivery.last_error = True, "the grant is no longer active"
                counts["dead"] += 1
                continue
            body = delivery.body.encode("utf-8")
            ok, error = _post(sub.callback_url, body, {
                "X-Datong-Signature": sign(sub.secret, body), "X-Datong-Delivery": f"dtd-{delivery.id}",
                "X-Datong-Event": delivery.event}, timeout)
            delivery.attempts += 1
            if ok:
                delivery.delivered_at = utcnow()
                counts["delivered"] += 1
                append_event(session, actor=worker, action="share.deliver", target=Target("subscription", str(sub.id)),
                             subjects=delivery.subjects, purpose=sub.grant.purpose,
                             detail={"delivery": delivery.id, "event": delivery.event, "grant": sub.grant_id})
            elif delivery.attempts >= max_attempts:
                delivery.dead, delivery.last_error = True, error
                counts["dead"] += 1
            else:
                delivery.last_error = error
                delivery.next_attempt_at = utcnow() + timedelta(seconds=min(2 ** delivery.attempts, 3600))
                counts["failed"] += 1
    return counts


@service(mutates=False)
def list_deliveries(session: Session, actor: Actor, *, dead: bool | None = None) -> list[Delivery]:
    """A consumer sees its own subscriptions' deliveries; the bureau sees all."""
    authorize(actor, "share.read", Target("deliveries", None, actor.department_id))
    stmt = select(Delivery).join(Subscription).order_by(Delivery.id.desc()).limit(500)
    if not sharing.is_allowed(actor, "share.oversee", Target("deliveries")):
        stmt = stmt.where(Subscription.consumer_id == actor.department_id)
    if dead is not None:
        stmt = stmt.where(Delivery.dead.is_(dead))
    return list(session.scalars(stmt))


@service(mutates=True)
def retry(session: Session, actor: Actor, *, delivery_id: int) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(what=SUBSCRIPTION, key=str(delivery_id))
    authorize(actor, "share.request", Target("delivery", str(delivery_id), delivery.subscription.consumer_id))
    delivery.dead, delivery.attempts, delivery.next_attempt_at = False, 0, utcnow()
    return delivery
