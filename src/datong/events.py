"""Events between domains (an outbox in the database).

A lower domain that must cause work in a higher one publishes an event from inside its own
transaction (:func:`publish`), so the event exists exactly when the change does. A higher domain
registers a consumer for a kind of event (:func:`consumer`) when it is imported; :func:`dispatch`
hands each committed event to each consumer once, in the consumer's own transaction, which also
records that it was consumed. Any process may dispatch (the server after a load, ``datong
worker`` on every round): an event being consumed is locked (PostgreSQL, ``SKIP LOCKED``) or the
consumer's transaction holds the write lock (SQLite), so two processes never consume it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, exists, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from datong.db.base import Base, UTCDateTime, utcnow
from datong.db.writes import append_rows

log = logging.getLogger(__name__)

#: A load committed new data for a resource. Payload: load, resource, snapshot, previous (snapshot).
LOAD_COMMITTED = "load.committed"
#: A resource was withdrawn (撤销). Payload: resource (id), code, reason, by.
RESOURCE_WITHDRAWN = "resource.withdrawn"
#: A one-window case changed. Payload: case (number), action, status, outcome, item, bundle, applicant.
CASE_CHANGED = "case.changed"


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EventConsumed(Base):
    __tablename__ = "event_consumers"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    consumed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


@dataclass(frozen=True)
class Consumer:
    name: str
    kind: str
    handle: Callable  # (session, payload, database) -> None


CONSUMERS: dict[str, Consumer] = {}
#: Work that must run after events are consumed and outside any transaction (it opens its own,
#: e.g. a registry update that loads): ``hook(database)``, called at the end of every dispatch.
AFTER_DISPATCH: dict[str, Callable] = {}


def consumer(kind: str, name: str):
    """Register ``handle(session, payload, database)`` as consumer ``name`` of events of ``kind``."""

    def register(handle):
        CONSUMERS[name] = Consumer(name, kind, handle)
        return handle

    return register


def publish(session: Session, kind: str, payload: dict) -> None:
    """Publish an event in the caller's transaction, at the driver level on its connection: every
    recorded case step publishes one, and SQLAlchemy's execution path cost more than the row (the
    event depends on no pending object, so nothing needs flushing first)."""
    append_rows(session, Event, [{"kind": kind, "payload": payload, "created_at": utcnow()}])


def _pending(session: Session, entry: Consumer, limit: int) -> list[int]:
    done = exists().where(EventConsumed.consumer == entry.name, EventConsumed.event_id == Event.id)
    return list(session.scalars(select(Event.id).where(Event.kind == entry.kind, ~done)
                                .order_by(Event.id).limit(limit)))


def dispatch(database, *, limit: int = 100) -> int:
    """Hand pending events to every registered consumer; returns how many were consumed."""
    consumed = 0
    for entry in list(CONSUMERS.values()):
        with database.reading() as session:
            ids = _pending(session, entry, limit)
        for event_id in ids:
            consumed += _consume(database, entry, event_id)
    for name, hook in list(AFTER_DISPATCH.items()):
        try:
            hook(database)
        except Exception:  # noqa: BLE001 - the work stays queued; the next dispatch retries it
            log.exception("after-dispatch work %s failed; it will be retried", name)
    return consumed


def _consume(database, entry: Consumer, event_id: int) -> int:
    with database.unit_of_work() as session:
        stmt = select(Event).where(Event.id == event_id)
        if database.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        event = session.scalar(stmt)
        if event is None or session.get(EventConsumed, (entry.name, event_id)) is not None:
            return 0  # another process has it, or had it
        entry.handle(session, event.payload, database)
        session.add(EventConsumed(consumer=entry.name, event_id=event_id))
    return 1
