"""Portal tables: one-time sign-in codes, and reads of personal data that their subject flagged."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from datong.db.base import Base, UTCDateTime, utcnow

OPEN, CLOSED = "open", "closed"


class SignInCode(Base):
    """A one-time code sent to the phone the registry holds for a person. It is kept only as a
    salted hash, lives a few minutes, and allows a few guesses."""

    __tablename__ = "portal_codes"
    __table_args__ = (Index("ix_portal_codes_holder", "holder_key", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, given to the browser
    holder_key: Mapped[str] = mapped_column(String(32))  # the person who receives the code
    acting_for: Mapped[str | None] = mapped_column(String(32))  # a company's credit code (legal representative)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    phone_hint: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DataUseFlag(Base):
    """A read of my data I do not recognise (从“谁用了我的数据”标记): a case for the auditor."""

    __tablename__ = "portal_flags"
    __table_args__ = (UniqueConstraint("holder_key", "audit_seq"), Index("ix_portal_flags_status", "status", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_key: Mapped[str] = mapped_column(String(32))
    audit_seq: Mapped[int] = mapped_column(Integer)  # the event in the audit chain
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finding: Mapped[str | None] = mapped_column(Text)
    closed_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
