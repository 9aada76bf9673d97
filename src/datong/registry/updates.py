"""Incremental updates: a committed load queues the registries' work, and the work runs after.

The consumer runs inside the event's transaction, so it only records what to do (a
``registry_pending`` row). The update itself loads the registry resource, which is a unit of
work of its own, so it runs after dispatch, outside any transaction: a process claims a row with
a lease, updates, and deletes the row; a failure leaves the row for the next round.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from datong import events
from datong.db.base import utcnow
from datong.db.engine import Database
from datong.registry import service
from datong.registry.models import Pending
from datong.registry.spec import KINDS, sources_of
from datong.security.authz import Actor

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=30)
MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=2)


@events.consumer(events.LOAD_COMMITTED, "registry.updates")
def queue_update(session: Session, payload: dict, database: Database) -> None:
    """Queue an update of each registry the loaded resource feeds (never for its own output)."""
    own = service.registry_resource_ids(session)
    if payload["resource"] in own:
        return
    for kind in KINDS:
        if any(s.resource_id == payload["resource"] for s in sources_of(session, kind, exclude=own)):
            session.add(Pending(kind=kind, resource_id=payload["resource"], load_id=payload["load"],
                                snapshot=payload["snapshot"], previous=payload.get("previous")))


def _claim(database: Database, holder: str) -> Pending | None:
    now = utcnow()
    with database.reading() as session:  # most dispatches find nothing: no write lock for that
        if session.scalar(select(Pending.id).where(Pending.attempts < MAX_ATTEMPTS).limit(1)) is None:
            return None
    with database.unit_of_work() as session:
        row = session.scalar(select(Pending).where(
            or_(Pending.claimed_until.is_(None), Pending.claimed_until < now), Pending.attempts < MAX_ATTEMPTS)
            .order_by(Pending.id).limit(1))
        if row is None:
            return None
        claimed = session.execute(update(Pending).where(Pending.id == row.id, or_(
            Pending.claimed_until.is_(None), Pending.claimed_until < now)).values(
            claimed_by=holder, claimed_until=now + LEASE, attempts=Pending.attempts + 1))
        return row if claimed.rowcount == 1 else None


_running = threading.local()


def process_pending(database: Database, *, engine: str | None = None, limit: int = 20) -> int:
    """Run queued registry updates; returns how many succeeded. An update's own load dispatches
    events too: that nested call leaves the queue to the loop already running in this thread."""
    if getattr(_running, "active", False):
        return 0
    _running.active = True
    try:
        return _process(database, engine, limit)
    finally:
        _running.active = False


def _process(database: Database, engine: str | None, limit: int) -> int:
    from datong.registry.flows import Scope, run_build

    holder, done = f"{socket.gethostname()}:{os.getpid()}", 0
    for _ in range(limit):
        row = _claim(database, holder)
        if row is None:
            break
        try:
            run_build(database, Actor.system("registry"), kind=row.kind,
                      engine=engine or database.registry_engine,
                      scope=Scope(row.resource_id, row.snapshot, row.previous))
        except Exception as exc:
            log.exception("registry update for load %s failed", row.load_id)
            with database.unit_of_work() as session:
                session.execute(update(Pending).where(Pending.id == row.id).values(  # retried after a pause
                    error=str(exc)[:2000], claimed_until=utcnow() + RETRY_AFTER * (row.attempts + 1)))
            continue
        with database.unit_of_work() as session:
            session.execute(delete(Pending).where(Pending.id == row.id))
        done += 1
    return done


def pending_count(session: Session) -> int:
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(Pending)) or 0


events.AFTER_DISPATCH["registry.updates"] = process_pending
