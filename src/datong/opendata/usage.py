"""Counting views, downloads and API calls without a write on the public path.

Each server process counts in memory and adds its counts to ``open_usage`` in one short upsert
every few seconds (and when it stops). A busy database only delays the counts: they are kept
and added on the next try. Several processes add to the same rows, so nothing assumes one.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date

from sqlalchemy import Date, bindparam, text

UPSERT = text("INSERT INTO open_usage (dataset_id, day, kind, count) VALUES (:dataset_id, :day, :kind, :count) "
              "ON CONFLICT (dataset_id, day, kind) DO UPDATE SET count = open_usage.count + excluded.count"
              ).bindparams(bindparam("day", type_=Date))


class UsageMeter:
    def __init__(self, database, *, every_seconds: float = 5.0) -> None:
        self.database, self.every = database, every_seconds
        self._counts: Counter = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def count(self, dataset_id: int, kind: str, n: int = 1) -> None:
        with self._lock:
            self._counts[(dataset_id, date.today(), kind)] += n
        if self._thread is None and self.every > 0:
            self._start()

    def pending(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def flush(self) -> bool:
        """Add the counts so far to the table; False (counts kept) if the database was busy."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
        if not counts:
            return True
        rows = [{"dataset_id": d, "day": day, "kind": k, "count": n} for (d, day, k), n in counts.items()]
        if self.database.try_write(UPSERT, rows, wait_ms=500):
            return True
        with self._lock:
            self._counts.update(counts)
        return False

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="open-usage", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self.flush()
