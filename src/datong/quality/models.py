"""Declared rules, score history and quality issues (整改)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from datong.catalog.models import DataElement, Resource
from datong.db.base import Base, UTCDateTime, utcnow
from datong.security.models import Department


class QualityRule(Base):
    """A rule declared on a data element (every resource using it) or on one resource's item."""

    __tablename__ = "quality_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    element_id: Mapped[int | None] = mapped_column(ForeignKey("data_elements.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    item: Mapped[str | None] = mapped_column(String(100))  # with resource_id: the data item's name
    kind: Mapped[str] = mapped_column(String(32))  # not_null, pattern, length, code_list, date_range
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    severity: Mapped[str] = mapped_column(String(8))  # reject, warn
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    element: Mapped[DataElement | None] = relationship(lazy="joined")


class QualityScore(Base):
    """A resource's scores on the five dimensions, computed on a load or a quality run."""

    __tablename__ = "quality_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    load_id: Mapped[int | None] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    rows: Mapped[int] = mapped_column(Integer)
    completeness: Mapped[float] = mapped_column(Float)
    validity: Mapped[float] = mapped_column(Float)
    uniqueness: Mapped[float] = mapped_column(Float)
    consistency: Mapped[float] = mapped_column(Float)
    timeliness: Mapped[float] = mapped_column(Float)
    overall: Mapped[float] = mapped_column(Float)


class QualityIssue(Base):
    """Failures of one rule on one resource, addressed to the provider department until fixed."""

    __tablename__ = "quality_issues"
    __table_args__ = (UniqueConstraint("resource_id", "rule"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    rule: Mapped[str] = mapped_column(String(160))  # e.g. "公民身份号码:id_number"
    item: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16), index=True)
    failing: Mapped[int] = mapped_column(Integer, default=0)
    samples: Mapped[list] = mapped_column(JSON, default=list)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deadline: Mapped[date] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_load_id: Mapped[int | None] = mapped_column(Integer)
    history: Mapped[list] = mapped_column(JSON, default=list)  # [{at, by, from, to, note}]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    resource: Mapped[Resource] = relationship(lazy="joined")
    department: Mapped[Department] = relationship(lazy="joined")
