"""Requests for data, and the grants they become."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from datong.catalog.models import Resource
from datong.db.base import Base, UTCDateTime, utcnow
from datong.security.models import ApiClient, Department

PENDING, APPROVED, REJECTED, REFUSED = "pending", "approved", "rejected", "refused"


class ShareRequest(Base):
    """申请: a consumer department asks for named items of a resource, for a purpose."""

    __tablename__ = "share_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    consumer_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"))
    items: Mapped[list] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decide_by: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text, default="")

    resource: Mapped[Resource] = relationship(lazy="joined")
    consumer: Mapped[Department] = relationship(lazy="joined")
    client: Mapped[ApiClient | None] = relationship(lazy="joined")


class Grant(Base):
    """授权: what a consumer may read, for what, until when; revocable at once."""

    __tablename__ = "grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("share_requests.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    consumer_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"))
    items: Mapped[list] = mapped_column(JSON)
    plain_items: Mapped[list] = mapped_column(JSON, default=list)  # returned unmasked
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(200))

    resource: Mapped[Resource] = relationship(lazy="joined")
    consumer: Mapped[Department] = relationship(lazy="joined")
    client: Mapped[ApiClient | None] = relationship(lazy="joined")


class Subscription(Base):
    """订阅: a consumer's callback for changes of a resource it holds a grant for."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    consumer_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    callback_url: Mapped[str] = mapped_column(String(500))
    # The HMAC key both sides hold: kept as given, since signing needs it (shown to the consumer once).
    secret: Mapped[str] = mapped_column(String(300))  # encrypted (Fernet), see subscriptions.SecretBox
    keys: Mapped[list | None] = mapped_column(JSON)  # only changes mentioning these IDs; None: all
    events: Mapped[list] = mapped_column(JSON)  # inserted, updated, deleted
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    grant: Mapped[Grant] = relationship(lazy="joined")


class Delivery(Base):
    """One change waiting for, or given to, one subscriber (the outbox): at least once, in order of id."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    load_id: Mapped[int | None] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(16))
    record_key: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # the JSON sent, masked per the grant
    subjects: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dead: Mapped[bool] = mapped_column(default=False, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    # A worker claims a delivery before it sends it, so that two workers never send the same one.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    subscription: Mapped[Subscription] = relationship(lazy="joined")


class WorkerHeartbeat(Base):
    """A delivery worker's last sign of life, so that the console can say when none is running."""

    __tablename__ = "worker_heartbeats"

    holder: Mapped[str] = mapped_column(String(100), primary_key=True)  # host:pid
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
