"""Declarative base shared by every domain's models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite stores no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use datong.db.base.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def import_all_models() -> None:
    """Import every domain's models so that Base.metadata is complete (for Alembic)."""
    import datong.catalog.models  # noqa: F401
    import datong.events  # noqa: F401
    import datong.store.models  # noqa: F401
    import datong.quality.models  # noqa: F401
    import datong.security.models  # noqa: F401
    import datong.sharing.models  # noqa: F401
    import datong.registry.models  # noqa: F401
    import datong.licenses.models  # noqa: F401
    import datong.services.models  # noqa: F401
    import datong.portal.models  # noqa: F401
    import datong.opendata.models  # noqa: F401
    import datong.metrics.models  # noqa: F401

