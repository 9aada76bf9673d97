"""Definitions kept per process by version.

Some rows are read by nearly every request of a kind and change a few times a year: a service
item and its bundle for every intake, a licence type for every prefill. Their tables carry a
``version`` that every UPDATE counts up in the statement itself (``onupdate``), so a process can
keep them: a lookup reads only (id, version) in one small statement at the driver level, and a row
is loaded again only when its version moved, whichever process changed it.

Kept objects are shared by every request and detached from any session (expunged as soon as they
are loaded, so that the loading session's rollback cannot expire what others read): read them,
never change them. Functions that edit a definition load their own.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from datong.db.snapshot import Prepared, Snapshot, among, snapshot_of

#: Kept rows per Database, beyond which the keep starts again (old versions are never asked for).
MOST = 10_000


def keep_of(snapshot: Snapshot, name: str) -> dict:
    """The keep ``name`` of the snapshot's database (a fresh one where a session has no caches)."""
    caches = snapshot.info.get("caches")
    return caches.setdefault(name, {}) if caches is not None else {}


def kept(session: Session, keep: dict, model, stamps: list[tuple[int, int]]) -> list:
    """Rows of ``model`` by (id, version), from ``keep`` or loaded (those missing, at once). A row
    edited between its stamp and its load is taken as loaded (it is the newer); None for a row
    deleted in between."""
    missing = [i for i, v in stamps if (model, i, v) not in keep]
    loaded = {}
    if missing:
        if len(keep) > MOST:
            keep.clear()
        for row in session.scalars(select(model).where(model.id.in_(missing))):
            session.expunge(row)
            keep[model, row.id, row.version] = loaded[row.id] = row
    return [keep.get((model, i, v)) or loaded.get(i) for i, v in stamps]


def stamps_by_code_or_name(model) -> dict[str, Prepared]:
    """Per dialect: the (id, version, code, name) of the rows of ``model`` whose code or name is
    among the parameter ``keys`` (see ``snapshot.among``)."""
    return {dialect: Prepared(select(model.id, model.version, model.code, model.name)
                              .where(or_(by_code, among(model.name, "keys")[dialect])))
            for dialect, by_code in among(model.code, "keys").items()}


def kept_by_key(session: Session, name: str, model, stamps: dict[str, Prepared], keys: list[str]
                ) -> tuple[list, str | None]:
    """Rows of ``model`` for ``keys`` (codes or names; a code wins over another row's name, as the
    ORM lookups choose), in their order, from the keep ``name``; and the first key that names no
    row (then the rows are not all there)."""
    snapshot = snapshot_of(session)
    found: dict[str, tuple[int, int]] = {}
    rows = snapshot.rows(stamps[snapshot.dialect.name], {"keys": snapshot.values(dict.fromkeys(keys))})
    for row in sorted(rows, key=lambda r: r[2] not in keys):
        for key in (row[2], row[3]):
            if key in keys:
                found.setdefault(key, row[:2])
    missing = next((k for k in keys if k not in found), None)
    out = kept(session, keep_of(snapshot, name), model, [found[k] for k in keys if k in found])
    if missing is None and None in out:  # deleted since its stamp was read
        missing = keys[out.index(None)]
    return out, missing
