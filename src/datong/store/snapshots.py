"""Load snapshots: the Parquet file of a resource's records as each committed load left them.

The newest is the base the next load diffs against; older ones are pruned (keep the last
``DATONG_SNAPSHOT_KEEP``), and files of loads that never committed are removed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from datong.store.models import COMMITTED, Load

log = logging.getLogger(__name__)


def last_snapshot(session: Session, resource_id: int) -> str | None:
    path = session.scalar(select(Load.snapshot).where(Load.resource_id == resource_id, Load.status == COMMITTED)
                          .order_by(Load.id.desc()).limit(1))
    return path if path and Path(path).exists() else None


def prune_snapshots(session: Session, resource_id: int, keep: int) -> list[str]:
    """Delete the files of all but the newest ``keep`` committed snapshots of the resource; the
    loads keep their history, with no snapshot. Returns the paths removed."""
    rows = session.execute(select(Load.id, Load.snapshot).where(
        Load.resource_id == resource_id, Load.status == COMMITTED, Load.snapshot.is_not(None))
        .order_by(Load.id.desc()).offset(keep)).all()
    for _, path in rows:
        Path(path).unlink(missing_ok=True)
    if rows:
        session.execute(update(Load).where(Load.id.in_([r.id for r in rows])).values(snapshot=None))
    return [r.snapshot for r in rows]
