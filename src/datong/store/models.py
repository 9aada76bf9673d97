"""The shared store's tables: loads, the records they produce, and the keys that find a person's or
company's records across resources (the 一号 view)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, PrimaryKeyConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from datong.catalog.models import Resource
from datong.db.base import Base, UTCDateTime, utcnow

RUNNING, COMMITTED, FAILED = "running", "committed", "failed"
COUNTS = ("read", "accepted", "rejected", "inserted", "updated", "deleted", "unchanged")


class Load(Base):
    """One attempt to load data for a resource: who, from where, how, and what came of it."""

    __tablename__ = "loads"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    actor_department: Mapped[str | None] = mapped_column(String(18))
    source: Mapped[str] = mapped_column(String(500))
    source_kind: Mapped[str] = mapped_column(String(16))  # csv, xlsx, jsonl, parquet, sql, records
    mode: Mapped[str] = mapped_column(String(16))  # full, incremental
    encoding: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=RUNNING, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    read: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    warned: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    snapshot: Mapped[str | None] = mapped_column(String(500))
    pid: Mapped[int | None] = mapped_column(Integer)
    # The loading process renews its lease while it works; a running load whose lease has run out
    # belongs to a process that died (any host), and the next load of the resource marks it failed.
    holder: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    phase: Mapped[str | None] = mapped_column(String(16))  # read, check, diff, write, done
    progress_done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    progress_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int | None] = mapped_column(Integer)

    resource: Mapped[Resource] = relationship(lazy="joined")

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTS}


class LoadProblem(Base):
    """A row a rule refused (severity reject) or flagged (warn), with where and why."""

    __tablename__ = "load_problems"

    id: Mapped[int] = mapped_column(primary_key=True)
    load_id: Mapped[int] = mapped_column(ForeignKey("loads.id", ondelete="CASCADE"), index=True)
    row: Mapped[int] = mapped_column(Integer)
    column: Mapped[str | None] = mapped_column(String(100))
    value: Mapped[str | None] = mapped_column(String(200))
    rule: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(200))  # what the value should have been, etc.
    severity: Mapped[str] = mapped_column(String(8))


class LoadRow(Base):
    """A row that had problems, as it was read (every source column as given), so the provider can
    fix it and load it again."""

    __tablename__ = "load_rows"
    __table_args__ = (PrimaryKeyConstraint("load_id", "row"),)

    load_id: Mapped[int] = mapped_column(ForeignKey("loads.id", ondelete="CASCADE"))
    row: Mapped[int] = mapped_column(Integer)
    original: Mapped[str] = mapped_column(Text)  # JSON object: source column → value


class Record(Base):
    """One record of a resource, kept once: the current payload, its hash and its version."""

    __tablename__ = "records"
    __table_args__ = (UniqueConstraint("resource_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)  # JSON object: data item name → value
    row_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    load_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RecordKey(Base):
    """Every citizen ID or credit code a record mentions, so one number finds all its records."""

    __tablename__ = "record_keys"
    __table_args__ = (
        PrimaryKeyConstraint("kind", "value", "resource_id", "record_key", "item"),
        Index("ix_record_keys_record", "resource_id", "record_key"),
    )

    kind: Mapped[str] = mapped_column(String(16))  # person, entity
    value: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    record_key: Mapped[str] = mapped_column(String(200))
    item: Mapped[str] = mapped_column(String(100))
