"""Catalog tables."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from datong.db.base import Base, UTCDateTime, utcnow
from datong.security.models import Department


class CodeList(Base):
    """代码集: the allowed codes of a data element."""

    __tablename__ = "code_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(64), unique=True)  # e.g. GB/T 2261.1
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    entries: Mapped[list[CodeListEntry]] = relationship(
        cascade="all, delete-orphan", order_by="CodeListEntry.position", lazy="selectin"
    )


class CodeListEntry(Base):
    __tablename__ = "code_list_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_list_id: Mapped[int] = mapped_column(ForeignKey("code_lists.id", ondelete="CASCADE"), index=True)
    value: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("code_list_id", "value"),)


class DataElement(Base):
    """数据元: one standard definition of a field, shared by every department."""

    __tablename__ = "data_elements"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    name_en: Mapped[str] = mapped_column(String(100))
    data_type: Mapped[str] = mapped_column(String(16))
    length: Mapped[int | None] = mapped_column(Integer)
    format: Mapped[str | None] = mapped_column(String(200))  # a regular expression, or a date format
    code_list_id: Mapped[int | None] = mapped_column(ForeignKey("code_lists.id"))
    rule: Mapped[str | None] = mapped_column(String(32))  # id_number, credit_code, division_code, …
    sensitivity: Mapped[str] = mapped_column(String(24))
    key_kind: Mapped[str | None] = mapped_column(String(16))
    base_registry: Mapped[str | None] = mapped_column(String(16))  # the base registry that uses it
    description: Mapped[str] = mapped_column(Text, default="")

    code_list: Mapped[CodeList | None] = relationship(lazy="joined")


class Resource(Base):
    """信息资源: one dataset a department provides."""

    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    provider_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(1))
    theme: Mapped[str] = mapped_column(String(100), default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    format: Mapped[str] = mapped_column(String(50), default="数据库")
    sharing_type: Mapped[str] = mapped_column(String(16), index=True)
    sharing_condition: Mapped[str] = mapped_column(Text, default="")
    sharing_methods: Mapped[list[str]] = mapped_column(JSON, default=list)
    open_type: Mapped[str] = mapped_column(String(16), index=True)
    open_condition: Mapped[str] = mapped_column(Text, default="")
    update_cycle: Mapped[str] = mapped_column(String(16))
    published_on: Mapped[date | None] = mapped_column(Date)
    attached: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    attached_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Source column header → data item name, for files whose headers differ from the catalog.
    column_mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # 撤销: no longer shared or loaded; kept (grants, loads and the audit log refer to it).
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    provider: Mapped[Department] = relationship(lazy="joined")
    items: Mapped[list[DataItem]] = relationship(
        cascade="all, delete-orphan", order_by="DataItem.position", lazy="selectin"
    )


class DataItem(Base):
    """信息项: one field of a resource, mapped to a data element or declared non-standard."""

    __tablename__ = "data_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    element_id: Mapped[int | None] = mapped_column(ForeignKey("data_elements.id"), index=True)
    data_type: Mapped[str] = mapped_column(String(16))
    length: Mapped[int | None] = mapped_column(Integer)
    sensitivity: Mapped[str] = mapped_column(String(24))
    key_kind: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")  # why non-standard, or why overridden

    element: Mapped[DataElement | None] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("resource_id", "name"),)


class ResourceVersion(Base):
    """Who changed what in a resource, and when; ``snapshot`` is the resource after the change."""

    __tablename__ = "resource_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)

    __table_args__ = (UniqueConstraint("resource_id", "version"),)


class SourceClaim(Base):
    """一数一源: a department's claim to be the authoritative source of a data element.

    One claim per element is ``authoritative``; a second claim is a ``conflict`` until the bureau
    decides, after which the losing claim is ``rejected``.
    """

    __tablename__ = "source_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    element_id: Mapped[int] = mapped_column(ForeignKey("data_elements.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), index=True)
    claimed_by: Mapped[str] = mapped_column(String(100))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text, default="")

    element: Mapped[DataElement] = relationship(lazy="joined")
    department: Mapped[Department] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("element_id", "department_id"),)
