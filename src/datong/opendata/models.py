"""Open-data tables: the datasets published to the public, their daily use, and API keys."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from datong.catalog.models import Resource
from datong.db.base import Base, UTCDateTime, utcnow

RECORDS, STATISTICS = "records", "statistics"
PUBLISHED, WITHDRAWN = "published", "withdrawn"
PENDING, APPROVED, REFUSED, REVOKED = "pending", "approved", "refused", "revoked"
VIEW, DOWNLOAD, API_CALL = "view", "download", "api"


class OpenDataset(Base):
    """A dataset on the open-data portal: a resource's records (its open type allows them), or
    statistics derived from a resource that holds personal data (counts, never rows)."""

    __tablename__ = "open_datasets"
    __table_args__ = (Index("ix_open_datasets_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)  # the address: the resource code, +"-stats"
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # records, statistics
    access: Mapped[str] = mapped_column(String(16))  # open (无条件开放), conditional (有条件开放: a key)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    licence: Mapped[str] = mapped_column(String(32))  # an SPDX identifier: CC-BY-4.0, …
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    spatial: Mapped[str] = mapped_column(String(12), default="")  # the division it covers (GB/T 2260)
    temporal_start: Mapped[date | None] = mapped_column(Date)  # the period the data covers
    temporal_end: Mapped[date | None] = mapped_column(Date)
    # Statistics: what the counts are grouped by ({"division": item or None, "birth": item or None}).
    spec: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=PUBLISHED)
    published_by: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The files of the last build: the load they come from, rows, and each format's size.
    load_id: Mapped[int | None] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    sizes: Mapped[dict] = mapped_column(JSON, default=dict)
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last check of its links: address → HTTP status (0: no answer), and when.
    links: Mapped[dict] = mapped_column(JSON, default=dict)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    resource: Mapped[Resource] = relationship(lazy="joined")


class OpenUsage(Base):
    """How often a dataset was viewed, downloaded and called, per day (counted in memory by each
    server process and added here in one short write every few seconds)."""

    __tablename__ = "open_usage"
    __table_args__ = (PrimaryKeyConstraint("dataset_id", "day", "kind"),)

    dataset_id: Mapped[int] = mapped_column(ForeignKey("open_datasets.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # view, download, api
    count: Mapped[int] = mapped_column(Integer, default=0)


class OpenApiKey(Base):
    """An application for an API key (有条件开放), and the key once the bureau approves it. Only
    the key's SHA-256 is kept: it is 32 random bytes, so a slow hash would add nothing."""

    __tablename__ = "open_api_keys"
    __table_args__ = (Index("ix_open_api_keys_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant: Mapped[str] = mapped_column(String(100))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    datasets: Mapped[list[str]] = mapped_column(JSON, default=list)  # dataset codes
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    per_minute: Mapped[int] = mapped_column(Integer, default=60)
    key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    key_hint: Mapped[str | None] = mapped_column(String(16))  # the key's first characters, to tell keys apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text, default="")
