"""A running load's lease and progress, kept in its ``loads`` row so that every process sees them.

While a load runs, a thread of the loading process renews the lease and writes the phase and
counts about once a second. When the database is busy (on SQLite, while the load itself holds
the write lock to write its rows) a renewal is skipped; the lease is long enough to outlast it
(``DATONG_LOAD_LEASE_SECONDS``). A load whose lease has run out belongs to a dead process:
:func:`clean_dead_loads` marks it failed and removes what it left on disk.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from datong.db.base import utcnow
from datong.db.engine import Database
from datong.ingest.service import holder_gone, mark_dead
from datong.store.models import FAILED, RUNNING, Load

log = logging.getLogger(__name__)
PROGRESS_SECONDS = 1.0
_LOAD_DIR = re.compile(r"load-(\d+)$")


class Lease:
    def __init__(self, database: Database, load_id: int) -> None:
        self.database, self.load_id = database, load_id
        self.seconds = database.load_lease_seconds
        self.state = {"phase": "read", "done": 0, "total": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{load_id}", daemon=True)

    def progress(self, phase: str, done: int, total: int) -> None:
        self.state = {"phase": phase, "done": done, "total": total}

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(PROGRESS_SECONDS):
            state = self.state
            self.database.try_write(
                update(Load).where(Load.id == self.load_id, Load.status == RUNNING).values(
                    lease_until=utcnow() + timedelta(seconds=self.seconds), phase=state["phase"],
                    progress_done=state["done"], progress_total=state["total"]))


def clean_dead_loads(database: Database) -> int:
    """Mark running loads whose lease ran out as failed, and remove the work folders and snapshot
    files of loads that are not running; returns how many loads were found dead."""
    now = utcnow()
    with database.unit_of_work() as session:
        running = session.scalars(select(Load).where(Load.status == RUNNING))
        dead = [load for load in running if load.lease_until is None or load.lease_until < now
                or holder_gone(load.holder)]
        for load in dead:
            mark_dead(load, now)
    with database.reading() as session:
        live = set(session.scalars(select(Load.id).where(Load.status == RUNNING)))
        failed = set(session.scalars(select(Load.id).where(Load.status == FAILED, Load.snapshot.is_(None))))
    work = database.data_dir / "work"
    for folder in work.glob("load-*") if work.exists() else ():
        match = _LOAD_DIR.match(folder.name)
        if match and int(match.group(1)) not in live:
            shutil.rmtree(folder, ignore_errors=True)
    for snapshot in (database.data_dir / "snapshots").glob("resource-*/load-*.parquet"):
        number = int(snapshot.stem.split("-")[1]) if snapshot.stem.split("-")[1].isdigit() else None
        if number in failed:
            snapshot.unlink(missing_ok=True)
    return len(dead)


def orphan_files(data_dir: Path) -> list[Path]:
    """What a killed load can leave behind (for tests and the operator guide)."""
    return [*data_dir.glob("work/load-*"), *data_dir.glob("snapshots/resource-*/load-*.parquet")]
