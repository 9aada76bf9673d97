"""Subscriptions (数据订阅): changes go to an outbox in the load's own transaction, and the worker
delivers them to the subscriber's callback, signed, at least once, with retries and a dead-letter
list. Nothing is lost when the worker or the receiver stops: the outbox is in the database.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import shutil
import socket
import threading
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
from standardwebhooks import Webhook
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from datong import events
from datong.db.base import utcnow
from datong.db.engine import Database
from datong.db.paging import Found, Window, window
from datong.errors import Conflict, InvalidInput, NotFound
from datong.i18n import N_, Term
from datong.security.audit import append_event
from datong.security.authz import Actor, Target, authorize, service
from datong.security.sealing import SecretBox
from datong.security import masking
from datong.sharing.callbacks import CallbackPolicy
from datong.sharing import service as sharing
from datong.sharing.models import Delivery, Grant, Subscription, WorkerHeartbeat
from datong.store.writer import Bulk
from datong.warehouse import engine as warehouse
from datong.warehouse.engine import sql_string

EVENTS = {"I": "inserted", "U": "updated", "D": "deleted"}
log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
SUBSCRIPTION = Term(N_("Subscription"))


def signed_headers(secret: str, message_id: str, body: bytes, at: datetime | None = None) -> dict[str, str]:
    """The Standard Webhooks headers: the id stays the same on every retry (receivers deduplicate
    by it), the timestamp is the attempt's own (receivers refuse stale ones), and the signature
    covers both with the body."""
    at = at or datetime.now(timezone.utc)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(message_id, at, body.decode("utf-8"))}


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_box(session: Session) -> SecretBox:
    secret = session.info.get("deployment_secret")
    if not secret:  # a Database built without settings
        raise RuntimeError("webhook secrets need the deployment secret (Database.from_settings)")
    return SecretBox(secret)


def callback_policy(session: Session) -> CallbackPolicy:
    return CallbackPolicy(session.info.get("callback_allow") or "")


@service(mutates=True)
def subscribe(session: Session, actor: Actor, *, grant_id: int, callback_url: str, keys: list[str] | None = None,
              events: list[str] | None = None) -> tuple[Subscription, str]:
    """Subscribe the consumer to changes under one of its grants; returns the signing secret once."""
    # Public addresses only, unless allowed. Resolved before the first statement, so that a slow
    # name server never holds the write lock.
    callback_policy(session).check(callback_url)
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound(what=sharing.GRANT, key=str(grant_id))
    authorize(actor, "share.request", Target("grant", str(grant_id), grant.consumer_id))
    if sharing.grant_state(grant) != "active":
        raise InvalidInput(field="grant_id", reason=Term(N_("the grant is not active")))
    if "subscription" not in grant.resource.sharing_methods:
        raise InvalidInput(field="grant_id", reason=Term(N_("the resource is not shared by subscription")))
    chosen = _events(events)
    same = session.scalar(select(Subscription.id).where(Subscription.grant_id == grant.id,
                                                        Subscription.callback_url == callback_url,
                                                        Subscription.active.is_(True)))
    if same is not None:
        raise DuplicateSubscription(id=same, url=callback_url)
    secret = new_secret()
    subscription = Subscription(grant=grant, resource_id=grant.resource_id, consumer_id=grant.consumer_id,
                                callback_url=callback_url, secret=secret_box(session).seal(secret),
                                keys=[k.strip().upper() for k in keys] if keys else None, events=chosen,
                                created_by=actor.name)
    session.add(subscription)
    session.flush()
    append_event(session, actor=actor, action="share.subscribe", target=Target("grant", str(grant.id)),
                 detail={"subscription": subscription.id, "callback": callback_url, "keys": len(keys or [])})
    return subscription, secret


class DuplicateSubscription(Conflict):
    code = "duplicate_subscription"
    message = N_("Subscription #{id} already sends this grant's changes to {url}; change or end it instead.")


def _events(events: list[str] | None) -> list[str]:
    chosen = events or list(EVENTS.values())
    if not set(chosen) <= set(EVENTS.values()):
        raise InvalidInput(field="events", reason=Term(N_("inserted, updated or deleted")))
    return chosen


def _own_subscription(session: Session, actor: Actor, subscription_id: int) -> Subscription:
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        raise NotFound(what=SUBSCRIPTION, key=str(subscription_id))
    authorize(actor, "share.request", Target("subscription", str(subscription_id), subscription.consumer_id))
    return subscription


@service(mutates=False)
def list_subscriptions(session: Session, actor: Actor, *, page: Window | None = None) -> Found[Subscription]:
    """A consumer's own subscriptions; the bureau and auditors see every department's."""
    authorize(actor, "share.read", Target("subscriptions", None, actor.department_id))
    stmt = select(Subscription).order_by(Subscription.active.desc(), Subscription.id.desc())
    if not sharing.is_allowed(actor, "share.oversee", Target("subscriptions")):
        stmt = stmt.where(Subscription.consumer_id == actor.department_id)
    return window(session, stmt, page)


@service(mutates=True)
def update_subscription(session: Session, actor: Actor, *, subscription_id: int, callback_url: str | None = None,
                        events: list[str] | None = None, keys: list[str] | None = None) -> Subscription:
    """Change where and what a subscription sends (the signing secret stays)."""
    if callback_url is not None:
        callback_policy(session).check(callback_url)  # before the first statement, as at subscribe
    subscription = _own_subscription(session, actor, subscription_id)
    if not subscription.active:
        raise InvalidInput(field="subscription", reason=Term(N_("the subscription has ended")))
    changed = {}
    if callback_url is not None and callback_url != subscription.callback_url:
        subscription.callback_url = changed["callback"] = callback_url
    if events is not None:
        subscription.events = changed["events"] = _events(events)
    if keys is not None:
        subscription.keys = [k.strip().upper() for k in keys] or None
        changed["keys"] = len(keys)
    append_event(session, actor=actor, action="share.subscription.update",
                 target=Target("subscription", str(subscription.id)), detail=changed)
    return subscription


@service(mutates=True)
def end_subscription(session: Session, actor: Actor, *, subscription_id: int) -> Subscription:
    """取消订阅: nothing more is queued; what is queued becomes a dead letter. Kept, not deleted:
    the audit chain names it."""
    subscription = _own_subscription(session, actor, subscription_id)
    if not subscription.active:
        raise InvalidInput(field="subscription", reason=Term(N_("the subscription has ended")))
    subscription.active = False
    append_event(session, actor=actor, action="share.unsubscribe", target=Target("subscription", str(subscription.id)),
                 detail={"grant": subscription.grant_id})
    return subscription


#: A worker not seen for this long is taken for stopped (it reports at every round, every 2 s).
HEARTBEAT_SECONDS = 60


def _heartbeat(dialect: str, holder: str):
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(WorkerHeartbeat).values(
        holder=holder, seen_at=utcnow())
    return statement.on_conflict_do_update(index_elements=["holder"], set_={"seen_at": statement.excluded.seen_at})


def worker_seen(session: Session) -> datetime | None:
    """When a delivery worker last reported, if one did within HEARTBEAT_SECONDS (a time, no data)."""
    return session.scalar(select(WorkerHeartbeat.seen_at).where(
        WorkerHeartbeat.seen_at > utcnow() - timedelta(seconds=HEARTBEAT_SECONDS))
        .order_by(WorkerHeartbeat.seen_at.desc()).limit(1))


@service(mutates=False)
def waiting_deliveries(session: Session, actor: Actor) -> int:
    """How many of the deliveries the actor may see wait to be sent (a count, in SQL)."""
    authorize(actor, "share.read", Target("deliveries", None, actor.department_id))
    stmt = select(func.count(Delivery.id)).join(Subscription).where(Delivery.delivered_at.is_(None),
                                                                    Delivery.dead.is_(False))
    if not sharing.is_allowed(actor, "share.oversee", Target("deliveries")):
        stmt = stmt.where(Subscription.consumer_id == actor.department_id)
    return session.scalar(stmt) or 0


_CHANGES = """
    CREATE TABLE changes AS
    SELECT n.__key, n.payload, CASE WHEN o.__key IS NULL THEN 'I' ELSE 'U' END AS change
    FROM new n LEFT JOIN old o USING (__key) WHERE o.__key IS NULL OR o.__hash <> n.__hash
    UNION ALL SELECT o.__key, NULL, 'D' FROM old o ANTI JOIN new n USING (__key)"""


def _snapshot_table(con: duckdb.DuckDBPyConnection, name: str, path: str | None) -> None:
    if path and Path(path).exists():
        con.execute(f"CREATE TABLE {name} AS SELECT __key, __hash, payload FROM read_parquet({sql_string(path)})")
    else:
        con.execute(f"CREATE TABLE {name} (__key VARCHAR, __hash VARCHAR, payload VARCHAR)")


def _record_sql(session: Session, grant: Grant) -> str:
    """The record as the grant may see it (granted items, masked), as a DuckDB JSON expression:
    the SQL form of :func:`datong.sharing.service.shape_payload`, which a test keeps equal."""
    pairs = []
    for item in grant.resource.items:
        if item.name in grant.items:
            value = f"json_extract_string(payload, {sql_string('$.' + json.dumps(item.name, ensure_ascii=False))})"
            function = None if item.name in grant.plain_items else masking.policy_for(
                item.element.identifier if item.element else None, item.sensitivity, sharing.masking_of(session))
            pairs.append(f"{sql_string(item.name)}, {masking.sql_for(function, value)}")
    return f"CASE WHEN payload IS NULL THEN NULL ELSE json_object({', '.join(pairs)}) END"


def _delivery_rows(con, session: Session, sub: Subscription, load_id: int, now_text: str, occurred: str):
    wanted = ", ".join(sql_string(code) for code, name in EVENTS.items() if name in sub.events)
    where = f"change IN ({wanted})"
    if sub.keys:
        listed = ", ".join(sql_string(k) for k in sub.keys)
        where += f" AND list_has_any(string_split(__key, '|'), [{listed}])"
    names = " ".join(f"WHEN {sql_string(code)} THEN {sql_string(name)}" for code, name in EVENTS.items())
    return con.execute(f"""
        SELECT {int(sub.id)}, {int(load_id)}, CASE change {names} END AS event, __key,
               json_object('event', CASE change {names} END, 'key', __key, 'load', {int(load_id)},
                           'occurred_at', {sql_string(occurred)}, 'record', {_record_sql(session, sub.grant)},
                           'resource', {sql_string(sub.grant.resource.code)}, 'subscription', {int(sub.id)})::VARCHAR,
               to_json(list_filter(string_split(__key, '|'), k -> k <> ''))::VARCHAR,
               {sql_string(now_text)}, 0, {sql_string(now_text)}, false
        FROM changes WHERE {where} ORDER BY change, __key""")


@events.consumer(events.RESOURCE_WITHDRAWN, "sharing.withdrawn")
def on_withdrawn(session: Session, payload: dict, database: Database) -> None:
    """A withdrawn resource: its grants are revoked, its subscriptions ended and its pending
    requests rejected, with the provider's reason, in one audited step."""
    from datong.sharing.models import PENDING, REJECTED, ShareRequest

    now, reason = utcnow(), f"撤销 / withdrawn: {payload['reason']}"
    grants = list(session.scalars(select(Grant).where(Grant.resource_id == payload["resource"],
                                                      Grant.revoked_at.is_(None))))
    for grant in grants:
        grant.revoked_at, grant.revoked_by = now, payload["by"]
    subs = list(session.scalars(select(Subscription).where(Subscription.resource_id == payload["resource"],
                                                           Subscription.active.is_(True))))
    for sub in subs:
        sub.active = False
    pending = list(session.scalars(select(ShareRequest).where(ShareRequest.resource_id == payload["resource"],
                                                              ShareRequest.status == PENDING)))
    for request in pending:
        request.status, request.reason, request.decided_by, request.decided_at = REJECTED, reason, payload["by"], now
    append_event(session, actor=Actor.system("sharing"), action="share.withdrawn",
                 target=f"resource:{payload['code']}", detail={"grants": [g.id for g in grants],
                                                               "subscriptions": [s.id for s in subs],
                                                               "requests": [r.id for r in pending]})


def active_subscriptions(session: Session, resource_id: int) -> list[Subscription]:
    """A resource's subscriptions whose grant is in force."""
    return [s for s in session.scalars(select(Subscription).where(Subscription.resource_id == resource_id,
                                                                  Subscription.active.is_(True)))
            if sharing.grant_state(s.grant) == "active"]


def queue_change(session: Session, sub: Subscription, *, event: str, key: str, subject: str, row: dict,
                 extra: dict | None = None) -> bool:
    """Queue one changed record for a subscriber, shaped by its grant (for changes made one at a
    time, outside loads: a licence issued, a case moved on); False if the subscription skips this
    event or this subject."""
    if event not in sub.events or (sub.keys and subject not in sub.keys):
        return False
    now = utcnow()
    body = {"event": event, "key": key, **(extra or {}), "occurred_at": now.isoformat(timespec="seconds"),
            "record": sharing.shape_payload(session, sub.grant, row), "resource": sub.grant.resource.code,
            "subscription": sub.id}
    session.add(Delivery(subscription_id=sub.id, event=event, record_key=key, body=json.dumps(body, ensure_ascii=False),
                         subjects=[subject], created_at=now, next_attempt_at=now))
    return True


@events.consumer(events.LOAD_COMMITTED, "sharing.subscriptions")
def fan_out(session: Session, payload: dict, database: Database) -> int:
    """Put a committed load's changes for every active subscription of its resource into the
    outbox: the changes are the difference of the load's snapshot and the one before it, computed
    in DuckDB, masked per grant in SQL, and written through the driver in bulk."""
    subscriptions = active_subscriptions(session, payload["resource"])
    if not subscriptions:
        return 0
    bulk, queued = Bulk(session), 0
    occurred = utcnow().isoformat(timespec="seconds")
    work = database.data_dir / "work" / f"fan-out-{uuid.uuid4().hex}"
    with warehouse.session(work, memory=database.warehouse_memory) as con:
        _snapshot_table(con, "new", payload["snapshot"])
        _snapshot_table(con, "old", payload.get("previous"))
        con.execute(_CHANGES)
        for sub in subscriptions:
            cursor = _delivery_rows(con, session, sub, payload["load"], bulk.now_text, occurred)
            while rows := cursor.fetchmany(10_000):
                bulk.copy("deliveries", _DELIVERY_COLUMNS, rows if bulk.postgres else [_sqlite(r) for r in rows])
                queued += len(rows)
    shutil.rmtree(work, ignore_errors=True)
    return queued


_DELIVERY_COLUMNS = ("subscription_id", "load_id", "event", "record_key", "body", "subjects", "created_at",
                     "attempts", "next_attempt_at", "dead")


def _sqlite(row: tuple) -> tuple:
    return (*row[:-1], 1 if row[-1] else 0)


CLAIM_SECONDS = 120  # a claim outlives one delivery's timeout many times over


def _claim(database: Database, who: str, limit: int) -> list[int]:
    """Claim what is due for this worker, oldest first: another worker skips claimed deliveries
    until the claim runs out (a crashed worker's claims return to the queue)."""
    now = utcnow()
    with database.unit_of_work() as session:
        due = (select(Delivery.id).where(Delivery.delivered_at.is_(None), Delivery.dead.is_(False),
                                         Delivery.next_attempt_at <= now,
                                         or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now))
               .order_by(Delivery.id).limit(limit))
        if database.dialect == "postgresql":  # SQLite: this transaction already holds the write lock
            due = due.with_for_update(skip_locked=True)
        ids = list(session.scalars(due))
        if ids:
            session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(
                claimed_by=who, claimed_until=now + timedelta(seconds=CLAIM_SECONDS)))
    return ids


def _attempt(database: Database, delivery_id: int, timeout: float) -> tuple[bool, str | None, str]:
    """Read what to send in a read transaction, then POST it outside any transaction."""
    with database.reading() as session:
        delivery = session.get(Delivery, delivery_id)
        sub = delivery.subscription
        if not sub.active:
            return False, "the subscription was ended", "dead"
        if sharing.grant_state(sub.grant) != "active":
            return False, "the grant is no longer active", "dead"
        body = delivery.body.encode("utf-8")
        headers = {**signed_headers(secret_box(session).open(sub.secret), f"dtd-{delivery.id}", body),
                   "X-Datong-Event": delivery.event}
        url, policy = sub.callback_url, callback_policy(session)
    ok, error = policy.post(url, body, headers, timeout)  # checked again, connected to the checked address
    return ok, error, "sent"


def _settle(database: Database, delivery_id: int, who: str, ok: bool, error: str | None, outcome: str,
            max_attempts: int) -> str:
    worker = Actor.system("worker")
    with database.unit_of_work() as session:
        delivery = session.get(Delivery, delivery_id)
        sub = delivery.subscription
        delivery.claimed_by, delivery.claimed_until = None, None
        if outcome == "dead":
            delivery.dead, delivery.last_error = True, error
            _audit_failure(session, worker, delivery, who, error, dead=True, sent=False)
            return "dead"
        delivery.attempts += 1
        if ok:
            delivery.delivered_at = utcnow()
            append_event(session, actor=worker, action="share.deliver", target=Target("subscription", str(sub.id)),
                         subjects=delivery.subjects, purpose=sub.grant.purpose,
                         detail={"delivery": delivery.id, "event": delivery.event, "grant": sub.grant_id,
                                 "worker": who})
            return "delivered"
        delivery.last_error = error
        delivery.dead = delivery.attempts >= max_attempts
        _audit_failure(session, worker, delivery, who, error, dead=delivery.dead)
        if delivery.dead:
            return "dead"
        delivery.next_attempt_at = utcnow() + timedelta(seconds=min(2 ** delivery.attempts, 3600))
        return "failed"


def _audit_failure(session: Session, worker: Actor, delivery: Delivery, who: str, error: str | None,
                   dead: bool, sent: bool = True) -> None:
    """A failed attempt, and a delivery given up (a dead letter), are in the audit chain. The
    receiver may have read the body before it failed to answer 2xx, so the subjects of a sent
    attempt are named as for a delivery (none when nothing was sent: the grant had ended)."""
    sub = delivery.subscription
    append_event(session, actor=worker, action="share.deliver.dead" if dead else "share.deliver.retry",
                 target=Target("subscription", str(sub.id)), outcome="failure", subjects=delivery.subjects if sent else (),
                 purpose=sub.grant.purpose,
                 detail={"delivery": delivery.id, "attempts": delivery.attempts, "error": (error or "")[:200],
                         "worker": who})


def deliver_due(database: Database, *, limit: int = 100, max_attempts: int = MAX_ATTEMPTS,
                timeout: float = 10.0) -> dict[str, int]:
    """Deliver what is due, oldest first. Each delivery is claimed first, sent outside any
    transaction, then settled in a short one; a crash repeats at most the ones in flight
    (receivers deduplicate by ``X-Datong-Delivery``)."""
    try:  # loads whose changes no process has fanned out yet (one crashed, or it failed there)
        events.dispatch(database)
    except Exception as exc:  # noqa: BLE001 - deliver what is queued; the event is tried next round
        log.warning("load events not dispatched: %s", exc)
    counts = {"delivered": 0, "failed": 0, "dead": 0}
    database.try_write(_heartbeat(database.dialect, f"{socket.gethostname()}:{os.getpid()}"[:100]))
    who = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    for delivery_id in _claim(database, who, limit):
        ok, error, outcome = _attempt(database, delivery_id, timeout)
        counts[_settle(database, delivery_id, who, ok, error, outcome, max_attempts)] += 1
    return counts


@service(mutates=False)
def list_deliveries(session: Session, actor: Actor, *, dead: bool | None = None,
                    page: Window | None = Window(limit=500)) -> Found[Delivery]:
    """A consumer sees its own subscriptions' deliveries; the bureau sees all."""
    authorize(actor, "share.read", Target("deliveries", None, actor.department_id))
    stmt = select(Delivery).join(Subscription).order_by(Delivery.id.desc())
    if not sharing.is_allowed(actor, "share.oversee", Target("deliveries")):
        stmt = stmt.where(Subscription.consumer_id == actor.department_id)
    if dead is not None:
        stmt = stmt.where(Delivery.dead.is_(dead))
    return window(session, stmt, page)


@service(mutates=True)
def retry(session: Session, actor: Actor, *, delivery_id: int) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(what=SUBSCRIPTION, key=str(delivery_id))
    authorize(actor, "share.request", Target("delivery", str(delivery_id), delivery.subscription.consumer_id))
    delivery.dead, delivery.attempts, delivery.next_attempt_at = False, 0, utcnow()
    append_event(session, actor=actor, action="share.deliver.requeue", target=Target("subscription",
                 str(delivery.subscription_id)), detail={"delivery": delivery.id})
    return delivery
