"""Hot writes: a step that every intake takes writes its few rows at the driver level.

SQLAlchemy's unit of work is worth its cost for the many rare writes of the hub; for the one
window's intake it cost more than the rows themselves (a flush of a bundle's five cases took longer
than their insert). These helpers write rows of a model with one statement per row (or one
``executemany``) on the session's own connection, inside its transaction, with every value
converted by the column type's own bind processor (what SQLAlchemy would send the driver), and
leave the session as if the rows had been loaded: the objects persistent, nothing pending.
"""

from __future__ import annotations

from sqlalchemy import bindparam, insert, inspect, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from datong.db.snapshot import Prepared, snapshot_of

#: Statements and their columns' bind processors, per model, columns and dialect.
_STATEMENTS: dict[tuple, tuple[Prepared, list]] = {}


def _statement(kind: str, mapper, names: tuple[str, ...], dialect):
    key = (kind, mapper.class_, names, dialect.name)
    found = _STATEMENTS.get(key)
    if found is None:
        (pk,) = mapper.primary_key
        columns = [mapper.get_property(name).columns[0] for name in names]
        values = {column: bindparam(f"v_{n}") for n, column in enumerate(columns)}
        if kind == "insert":
            statement = insert(mapper.local_table).values(values).returning(pk)
        elif kind == "append":
            statement = insert(mapper.local_table).values(values)
        else:
            statement = update(mapper.local_table).where(pk == bindparam("v_pk")).values(values)
        processors = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
        found = _STATEMENTS[key] = (Prepared(statement), processors)
    return found


def _params(processors: list, values: list) -> dict:
    return {f"v_{n}": value if process is None or value is None else process(value)
            for n, (process, value) in enumerate(zip(processors, values))}


def add_as_loaded(session: Session, objects: list) -> None:
    """New objects of one model inserted (one statement each, their ids returned) and put in the
    session as if just loaded: nothing pending, every column holding its value (the model's
    default where none was given), relationships loaded as for any persistent object. Only for
    models whose every default is on the Python side (a server default would have to be read back)."""
    if not objects:
        return
    mapper = inspect(type(objects[0]))
    (pk,) = mapper.primary_key
    attrs = [(attr.key, attr.columns[0]) for attr in mapper.column_attrs if attr.columns[0] is not pk]
    snapshot = snapshot_of(session)
    prepared, processors = _statement("insert", mapper, tuple(name for name, _ in attrs), snapshot.dialect)
    id_name = mapper.get_property_by_column(pk).key
    for obj in objects:
        given = obj.__dict__  # defaults go into the instance's dict, as a load puts what it read
        for name, column in attrs:
            if name not in given:
                default = column.default
                if default is None and column.server_default is not None:
                    raise ValueError(f"{column} has a server default only: add the object to the session instead")
                given[name] = None if default is None else default.arg(None) if default.is_callable else default.arg
        (new_id,), = snapshot.write(prepared, _params(processors, [given[name] for name, _ in attrs]))
        setattr(obj, id_name, new_id)
        make_transient_to_detached(obj)
        session.add(obj)


def append_rows(session: Session, model, rows: list[dict]) -> None:
    """Rows that this transaction writes and never reads back (an outbox event), inserted at the
    driver level in one ``executemany``: each row names the same columns (the model's Python
    defaults are not applied: name every column the row needs), every value goes through its
    column type's bind processor, and no object is made."""
    if not rows:
        return
    names = tuple(rows[0])
    snapshot = snapshot_of(session)
    prepared, processors = _statement("append", inspect(model), names, snapshot.dialect)
    snapshot.write(prepared, [_params(processors, [row[name] for name in names]) for row in rows])


def write_now(session: Session, objects: list, keys: tuple[str, ...], values: list[tuple] | None = None) -> None:
    """Attributes ``keys`` of loaded objects of one model written in one ``executemany`` by primary
    key and kept as their committed values. ``values``: each object's new values, given here
    instead of set on it first (then the objects are not even marked changed). Without them, the
    values the objects hold are written, and an object with no other change is taken off the
    flush's list; one with other changes is flushed as usual (its other attributes only)."""
    if not objects:
        return
    mapper = inspect(type(objects[0]))
    snapshot = snapshot_of(session)
    prepared, processors = _statement("update", mapper, keys, snapshot.dialect)
    rows = values if values is not None else [[getattr(obj, name) for name in keys] for obj in objects]
    snapshot.write(prepared, [{"v_pk": inspect(obj).identity[0], **_params(processors, row)}
                              for obj, row in zip(objects, rows, strict=True)])
    for obj, row in zip(objects, rows):
        for name, value in zip(keys, row):
            set_committed_value(obj, name, value)
        state = inspect(obj)
        if state.modified and not state.committed_state:  # nothing else changed: off the flush's list
            # SQLAlchemy has no public call for "this object is as stored"; this is what its own
            # flush does to each object it wrote (a flush of a bundle's unchanged cases cost
            # about as much as the rest of the acceptance's statements together).
            state._commit_all(state.dict, state._instance_dict())
