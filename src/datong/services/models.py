"""The one window's tables: service items (事项) and 一件事 bundles, cases (办件) with their review
tasks, history, attachments and notices, and ratings (好差评) with their follow-ups."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from datong.db.base import Base, UTCDateTime, utcnow
from datong.security.models import Department

# A case's states (GLOSSARY): drafted at the window, accepted into review or refused, paused for
# 补正, waiting for another item of its bundle, completed (办结, approved or not), delivered (出件).
DRAFT, WAITING, REVIEW, PAUSED = "draft", "waiting", "in_review", "awaiting_applicant"
COMPLETED, DELIVERED, REFUSED = "completed", "delivered", "refused"
OPEN_STATES = (DRAFT, WAITING, REVIEW, PAUSED)
APPROVED, REJECTED = "approved", "rejected"
# A review task's states.
TASK_OPEN, TASK_SUPPLEMENT, TASK_APPROVED, TASK_REJECTED, TASK_CANCELLED = (
    "open", "supplement", "approved", "rejected", "cancelled")
ITEM_KINDS = ("licensing", "public_service", "confirmation", "payment", "other")


class ServiceItem(Base):
    """A service item (政务服务事项) and the guide published from it."""

    __tablename__ = "service_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    applicant_kind: Mapped[str] = mapped_column(String(16))  # person, entity
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    conditions: Mapped[str] = mapped_column(Text, default="")
    legal_days: Mapped[int] = mapped_column(Integer)  # statutory limit, working days
    promised_days: Mapped[int] = mapped_column(Integer)  # promised limit, working days
    fee: Mapped[str] = mapped_column(String(200), default="不收费")
    windows: Mapped[list] = mapped_column(JSON, default=list)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    # [{name, element, licence: "type code:field", required}]: the application form
    fields: Mapped[list] = mapped_column(JSON, default=list)
    # [{name, source: licence|shared|upload|result, licence_type, resource, required}]
    materials: Mapped[list] = mapped_column(JSON, default=list)
    flow: Mapped[str] = mapped_column(Text)  # BPMN 2.0
    # the licence issued on approval: {type, holder: field, fields: {licence field: form field}}
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    auto_rules: Mapped[list] = mapped_column(JSON, default=list)
    sample_rate: Mapped[float] = mapped_column(Float, default=0.0)  # automatic decisions a person checks
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Every change of the row counts one up, in the UPDATE itself: processes keep items by it.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1",
                                         onupdate=literal_column("version") + 1)

    department: Mapped[Department] = relationship(lazy="joined")


class Bundle(Base):
    """一件事: several items done as one application, in the order their dependencies give."""

    __tablename__ = "service_bundles"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    items: Mapped[list] = mapped_column(JSON, default=list)  # [{item: code, after: [codes]}]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1",
                                         onupdate=literal_column("version") + 1)


class Case(Base):
    """An application (办件): one item's, or a bundle's with one child case per item."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_applicant", "applicant_key"), Index("ix_cases_state_due", "status", "due_on"))

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("service_items.id"), index=True)
    bundle_id: Mapped[int | None] = mapped_column(ForeignKey("service_bundles.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    applicant_kind: Mapped[str] = mapped_column(String(16))
    applicant_key: Mapped[str] = mapped_column(String(32))
    applicant_name: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(16))  # window, online, api
    window: Mapped[str | None] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))  # where it was taken in
    status: Mapped[str] = mapped_column(String(24), default=DRAFT)
    outcome: Mapped[str | None] = mapped_column(String(16))
    form: Mapped[dict] = mapped_column(JSON, default=dict)
    sources: Mapped[dict] = mapped_column(JSON, default=dict)  # field → where its value came from
    materials: Mapped[list] = mapped_column(JSON, default=list)  # each material and what satisfies it
    workflow: Mapped[str | None] = mapped_column(Text)  # SpiffWorkflow's JSON
    auto_trace: Mapped[list | None] = mapped_column(JSON)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    legal_due_on: Mapped[date | None] = mapped_column(Date)
    paused_on: Mapped[date | None] = mapped_column(Date)
    paused_days: Mapped[int] = mapped_column(Integer, default=0)
    completed_on: Mapped[date | None] = mapped_column(Date)
    working_days: Mapped[int | None] = mapped_column(Integer)  # accepted → completed, pauses excluded
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivery: Mapped[str | None] = mapped_column(String(16))  # window, post, online
    result_licence: Mapped[str | None] = mapped_column(String(80))
    visits: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text)  # of a refusal or rejection
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    item: Mapped[ServiceItem | None] = relationship(lazy="joined")
    bundle: Mapped[Bundle | None] = relationship(lazy="joined")


class ReviewTask(Base):
    """One department's review of a case (并联审批: several open at once), with its deadline."""

    __tablename__ = "review_tasks"
    __table_args__ = (Index("ix_review_tasks_due", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    engine_id: Mapped[str | None] = mapped_column(String(40))  # the workflow task's id
    step: Mapped[str] = mapped_column(String(100))  # the BPMN element id
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    sample: Mapped[bool] = mapped_column(Boolean, default=False)  # checking an automatic decision
    status: Mapped[str] = mapped_column(String(16), default=TASK_OPEN)
    opened_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")

    department: Mapped[Department] = relationship(lazy="joined")
    case: Mapped[Case] = relationship(lazy="joined")


class CaseEvent(Base):
    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Attachment(Base):
    """A material the applicant still had to bring (scanned at the window or uploaded)."""

    __tablename__ = "case_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    material: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Notice(Base):
    """A message to an applicant (the portal's inbox; a sender may also text it)."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_holder", "holder_key", "id"),
                      # a proactive notice is sent once per occasion (a birth, a birthday, an expiry)
                      UniqueConstraint("holder_key", "occasion", name="uq_notices_holder_occasion"))

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_key: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    why: Mapped[str | None] = mapped_column(Text)  # a proactive notice says why this person received it
    occasion: Mapped[str | None] = mapped_column(String(120))
    link: Mapped[str | None] = mapped_column(String(200))  # where to act on it (an item or a bundle)
    texted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # also sent to the phone (proactive notices)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Rating(Base):
    """好差评: the applicant's rating of a completed case (1 very bad … 5 very good)."""

    __tablename__ = "case_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    window: Mapped[str | None] = mapped_column(String(100))
    level: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FollowUp(Base):
    """A 差评's follow-up: the department verifies, rectifies and visits back (回访) by a deadline."""

    __tablename__ = "rating_follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("case_ratings.id", ondelete="CASCADE"), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, closed
    finding: Mapped[str] = mapped_column(Text, default="")
    rectification: Mapped[str] = mapped_column(Text, default="")
    visit: Mapped[str] = mapped_column(Text, default="")  # what the applicant said on the return visit
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(200))

    rating: Mapped[Rating] = relationship(lazy="joined")
