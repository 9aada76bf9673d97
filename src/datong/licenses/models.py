"""The licence library's tables: licence types (证照目录), seals and their keys, issued licences
(every version kept), their history, holders' authorisations (授权使用) and the queue of loads
that issue licences in bulk."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from datong.catalog.models import Resource
from datong.db.base import Base, UTCDateTime, utcnow
from datong.security.models import Department

# A licence's state. Each is a value of the published status list (two bits per licence).
VALID, REVOKED, SUSPENDED, SUPERSEDED = "valid", "revoked", "suspended", "superseded"
STATUS_CODES = {VALID: 0, REVOKED: 1, SUSPENDED: 2, SUPERSEDED: 3}
# What a seal key is for: a seal's signatures, or the bureau's certificate authority.
SEAL, AUTHORITY = "seal", "ca"


class LicenceType(Base):
    """A kind of licence (证照目录 entry, after GB/T 36902): who defines and who issues it, whose it
    is, its fields by data element, how long it is valid and how it looks."""

    __tablename__ = "licence_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(21), unique=True)  # definer's credit code + 3 digits
    name: Mapped[str] = mapped_column(String(100), unique=True)
    ministry: Mapped[str] = mapped_column(String(100))  # the owning ministry (主管部门)
    issuers: Mapped[list] = mapped_column(JSON, default=list)  # credit codes of issuing departments
    holder_kind: Mapped[str] = mapped_column(String(16))  # person, entity
    fields: Mapped[list] = mapped_column(JSON, default=list)  # [{name, element, required}]
    valid_years: Mapped[int | None] = mapped_column(Integer)  # None: valid until revoked
    layout: Mapped[dict] = mapped_column(JSON, default=dict)  # {title, colour, note}
    # Bulk issuing from a loaded resource: which resource, which of its items gives each field,
    # the holder's key and name.
    source_resource_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id", ondelete="SET NULL"))
    source_mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    # The type as a catalog resource, so that departments request and are granted it as any other.
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Every change of the row counts one up, in the UPDATE itself: processes keep types by it.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1",
                                         onupdate=literal_column("version") + 1)

    source: Mapped[Resource | None] = relationship(foreign_keys=[source_resource_id], lazy="joined")
    resource: Mapped[Resource | None] = relationship(foreign_keys=[resource_id], lazy="joined")


class Seal(Base):
    """A department's electronic seal (电子印章): name, kind, validity and picture; it signs with
    its current key."""

    __tablename__ = "seals"
    __table_args__ = (UniqueConstraint("department_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))  # 证照专用章, 公章 …
    algorithm: Mapped[str] = mapped_column(String(16))
    image_svg: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    department: Mapped[Department] = relationship(lazy="joined")


class SealKey(Base):
    """One key pair of a seal (or of the bureau's authority): the private key sealed at rest, the
    public key and the certificate the authority signed. A rotated key is retired, never deleted,
    so that what it signed stays verifiable."""

    __tablename__ = "seal_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(8))  # seal, ca
    seal_id: Mapped[int | None] = mapped_column(ForeignKey("seals.id", ondelete="CASCADE"), index=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_pem: Mapped[str] = mapped_column(Text)
    private_sealed: Mapped[str] = mapped_column(Text)
    certificate: Mapped[str] = mapped_column(Text)  # JSON, signed by the authority
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    not_after: Mapped[datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    seal: Mapped[Seal | None] = relationship(lazy="joined")


class Licence(Base):
    """One version of one licence. ``family`` ties the versions together (type, issuer, serial)."""

    __tablename__ = "licences"
    # One version of a record's licence: two processes issuing from the same load cannot both win.
    __table_args__ = (Index("ix_licences_holder", "holder_kind", "holder_key"),
                      UniqueConstraint("type_id", "source_key", "version", name="uq_licences_source"))

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(100), unique=True)
    status_index: Mapped[int] = mapped_column(Integer, unique=True)  # its place in the status list
    family: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[int] = mapped_column(Integer)
    type_id: Mapped[int] = mapped_column(ForeignKey("licence_types.id", ondelete="RESTRICT"), index=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"))
    holder_kind: Mapped[str] = mapped_column(String(16))
    holder_key: Mapped[str] = mapped_column(String(32))
    holder_name: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    document: Mapped[str] = mapped_column(Text)  # the canonical JSON (RFC 8785) that was signed
    signature: Mapped[str] = mapped_column(String(200))  # base64url
    key_id: Mapped[int] = mapped_column(ForeignKey("seal_keys.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(16), default=VALID, index=True)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    source_key: Mapped[str | None] = mapped_column(String(200))  # the record it was issued from
    source_hash: Mapped[str | None] = mapped_column(String(64))
    issued_by: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    type: Mapped[LicenceType] = relationship(lazy="joined")
    issuer: Mapped[Department] = relationship(lazy="joined")
    key: Mapped[SealKey] = relationship(lazy="joined")


class LicenceEvent(Base):
    """A licence's history: issued, suspended, restored, revoked, superseded, used."""

    __tablename__ = "licence_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licences.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200))  # who used it, for the holder to see
    purpose: Mapped[str | None] = mapped_column(String(500))
    case_number: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Consent(Base):
    """A holder's authorisation (授权使用) for one department to use their licences: which types
    (none listed: all), for what, until when; given at the window or online; withdrawable."""

    __tablename__ = "licence_consents"
    __table_args__ = (Index("ix_licence_consents_holder", "holder_kind", "holder_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_kind: Mapped[str] = mapped_column(String(16))
    holder_key: Mapped[str] = mapped_column(String(32))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    types: Mapped[list] = mapped_column(JSON, default=list)  # licence type codes
    purpose: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    given_via: Mapped[str] = mapped_column(String(16))  # window, online
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    department: Mapped[Department] = relationship(lazy="joined")


class IssuePending(Base):
    """A committed load of a licence type's source resource, waiting to be issued from."""

    __tablename__ = "licence_pending"

    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("licence_types.id", ondelete="CASCADE"))
    load_id: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[str] = mapped_column(String(500))
    previous: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Counter(Base):
    """Numbers handed out in blocks: serials per licence type and issuer, places in the status
    list. A block is taken in one short write, so signing happens outside any transaction."""

    __tablename__ = "licence_counters"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    next: Mapped[int] = mapped_column(Integer, default=1)
