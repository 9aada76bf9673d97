"""The registries' tables: subjects, the records linked to them, every source's value of every
attribute (the golden one marked), the golden record's history, the steward's review queue and
the bureau's precedence lists."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from datong.db.base import Base, UTCDateTime, utcnow

# How a record came to be linked to its subject.
BY_ID, BY_OLD_CODE, BY_MODEL, BY_STEWARD = "id", "old_code", "model", "steward"
# How the golden value was chosen.
AUTHORITATIVE, PRECEDENCE, LATEST = "authoritative", "precedence", "latest"
# Review queue.
PENDING, SAME, DIFFERENT = "pending", "same", "different"
GREY, WRONG_ID = "grey", "wrong_id"
#: Elements a subject is searched by (``Name``).
SEARCHED = ("DE0002", "DE0004", "DE0011")


class Subject(Base):
    """A person (by citizen ID number) or a legal entity (by credit code). Its id never changes:
    a rebuild finds the row by its key and keeps it."""

    __tablename__ = "registry_subjects"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # person, entity
    key: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Link(Base):
    """One source record linked to one subject (a marriage record links two)."""

    __tablename__ = "registry_links"
    __table_args__ = (PrimaryKeyConstraint("resource_id", "record_key", "subject_id"),
                      Index("ix_registry_links_subject", "subject_id"))

    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    record_key: Mapped[str] = mapped_column(String(200))
    subject_id: Mapped[int] = mapped_column(ForeignKey("registry_subjects.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(16))
    probability: Mapped[float | None] = mapped_column(Float)
    # "wrong_id": the record's ID names this subject, but its name and birth date name someone else.
    suspect: Mapped[str | None] = mapped_column(String(16))


class Profile(Base):
    """A subject's attributes with their provenance, as one document: per element the golden
    value, where it came from (resource, record, load, as-of time) and why it won, the sources
    that agree, and every value that differs (``datong.registry.extract.profiles_json``). One row
    per subject: a registry of millions is written in seconds and a profile is read in one lookup."""

    __tablename__ = "registry_profiles"

    subject_id: Mapped[int] = mapped_column(ForeignKey("registry_subjects.id", ondelete="CASCADE"), primary_key=True)
    attributes: Mapped[str] = mapped_column(Text)  # JSON object: element → provenance
    disagreements: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Name(Base):
    """The golden values a subject is searched by: a person's name and birth date, a company's name."""

    __tablename__ = "registry_names"
    __table_args__ = (PrimaryKeyConstraint("subject_id", "element"), Index("ix_registry_names_value", "element", "value"))

    subject_id: Mapped[int] = mapped_column(ForeignKey("registry_subjects.id", ondelete="CASCADE"))
    element: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(200))


class Build(Base):
    """One build or update: when, what it did, and the figures the statistics page shows."""

    __tablename__ = "registry_builds"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    figures: Mapped[dict] = mapped_column(JSON, default=dict)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Change(Base):
    """A golden value that changed: from what, to what, because of which load."""

    __tablename__ = "registry_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("registry_subjects.id", ondelete="CASCADE"), index=True)
    element: Mapped[str] = mapped_column(String(32))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    resource_id: Mapped[int | None] = mapped_column(Integer)
    load_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Review(Base):
    """A pair the model could not decide (or a record whose ID looks wrong), for a steward. A
    decision stays and overrides the model in every later build."""

    __tablename__ = "registry_reviews"
    __table_args__ = (UniqueConstraint("resource_id", "record_key", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # person, entity
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    record_key: Mapped[str] = mapped_column(String(200))
    subject_id: Mapped[int] = mapped_column(ForeignKey("registry_subjects.id", ondelete="CASCADE"))
    probability: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(16))  # grey, wrong_id
    status: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Precedence(Base):
    """Which departments' values count, in order, where the authoritative source has none."""

    __tablename__ = "registry_precedence"

    element: Mapped[str] = mapped_column(String(32), primary_key=True)
    departments: Mapped[list[str]] = mapped_column(JSON, default=list)  # credit codes, first wins
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Pending(Base):
    """A committed load the registry has yet to take in. The event consumer adds it in the event's
    transaction; the update runs after, outside any transaction (it loads, and a load is its own
    unit of work), claimed by one process at a time and retried until it succeeds."""

    __tablename__ = "registry_pending"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    resource_id: Mapped[int] = mapped_column(Integer)
    load_id: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[str] = mapped_column(String(500))
    previous: Mapped[str | None] = mapped_column(String(500))
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
