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

from sqlalchemy import select
from sqlalchemy.orm import Session

from datong.db.snapshot import Snapshot

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


def chosen(stamps: list[tuple], keys: list[str]) -> dict[str, tuple[int, int]]:
    """Rows (id, version, code, name) found by code or name → {key: (id, version)}: a code wins
    over another row's name, as the ORM lookups choose."""
    out: dict[str, tuple[int, int]] = {}
    for row in sorted(stamps, key=lambda r: r[2] not in keys):
        for key in (row[2], row[3]):
            if key in keys:
                out.setdefault(key, row[:2])
    return out
