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


def add_as_loaded(session, objects: list) -> None:
    """New objects of one model inserted in one Core statement (their ids returned in order) and
    put in the session as if just loaded: nothing pending, every column holding its value (the
    model's default where none was given), relationships loaded as for any persistent object.

    For a hot write of several rows that the transaction then only reads: the ORM's flush of
    five cases cost more than their insert. Only for models whose every default is on the Python
    side (a server default would have to be read back)."""
    from sqlalchemy import insert, inspect
    from sqlalchemy.orm import make_transient_to_detached

    if not objects:
        return
    mapper = inspect(type(objects[0]))
    (key,) = mapper.primary_key
    columns = [(attr.key, attr.columns[0]) for attr in mapper.column_attrs if attr.columns[0] is not key]
    rows = []
    for obj in objects:
        given = obj.__dict__  # defaults go into the instance's dict, as a load puts what it read
        for name, column in columns:
            if name not in given:
                default = column.default
                if default is None and column.server_default is not None:
                    raise ValueError(f"{column} has a server default only: add the object to the session instead")
                given[name] = None if default is None else default.arg(None) if default.is_callable else default.arg
        rows.append({column.key: given[name] for name, column in columns})
    ids = session.connection().execute(insert(mapper.local_table).returning(key, sort_by_parameter_order=True),
                                       rows).scalars().all()
    for obj, new_id in zip(objects, ids, strict=True):
        setattr(obj, mapper.get_property_by_column(key).key, new_id)
        make_transient_to_detached(obj)
        session.add(obj)


def write_now(session, objects: list, keys: tuple[str, ...]) -> None:
    """Attributes ``keys`` of loaded objects of one model written in one Core statement (an
    executemany by primary key) and kept as their committed values, so that a flush has nothing
    of them left to write (it still writes any other attribute changed). For a hot step that
    changes the same few columns of several rows (a bundle's cases at acceptance)."""
    from sqlalchemy import bindparam, inspect, update
    from sqlalchemy.orm.attributes import set_committed_value

    if not objects:
        return
    mapper = inspect(type(objects[0]))
    (key,) = mapper.primary_key
    table = mapper.local_table
    columns = {name: mapper.get_property(name).columns[0] for name in keys}
    statement = update(table).where(key == bindparam("_pk", type_=key.type)).values(
        {column: bindparam(f"_{name}", type_=column.type) for name, column in columns.items()})
    rows = [{"_pk": inspect(obj).identity[0], **{f"_{name}": getattr(obj, name) for name in keys}} for obj in objects]
    session.connection().execute(statement, rows)
    for obj, row in zip(objects, rows):
        for name in keys:
            set_committed_value(obj, name, row[f"_{name}"])
