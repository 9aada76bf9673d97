"""Cost of the audit chain: appending hash-chained events against plain inserts of the same rows
(the baseline), in batches and one commit per event, then verifying the chain. SQLite, one file.

Prints one JSON object. Usage: python benchmarks/audit_chain.py [EVENTS]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from datong.db import Database
from datong.db.base import utcnow
from datong.db.engine import make_engine
from datong.db.migrate import upgrade_to_head
from datong.security.audit import append_event, verify_chain
from datong.security.authz import Actor
from datong.security.models import AuditEvent

ACTOR = Actor(kind="client", name="dtc_bench", department_code="113300000020000120")
BATCH = 1000


def _database(folder: Path, name: str, algorithm: str = "sm3") -> Database:
    engine = make_engine(f"sqlite:///{folder / name}")
    upgrade_to_head(engine)
    return Database(engine, audit_hash=algorithm)


def _plain_rows(database: Database, events: int) -> float:
    started = time.perf_counter()
    for start in range(0, events, BATCH):
        with database.unit_of_work() as session:
            session.execute(insert(AuditEvent), [
                {"seq": start + i + 1, "occurred_at": utcnow(), "actor": ACTOR.name, "action": "record.read",
                 "target": "resource:R1", "subjects": ["11010519491231002X"], "purpose": "bench",
                 "case_number": None, "outcome": "success", "detail": {}, "algorithm": "none",
                 "prev_hash": "", "hash": f"{start + i + 1:064d}"}
                for i in range(min(BATCH, events - start))
            ])
    return events / (time.perf_counter() - started)


def _chained(database: Database, events: int, per_commit: int) -> float:
    started = time.perf_counter()
    for start in range(0, events, per_commit):
        with database.unit_of_work() as session:
            for _ in range(min(per_commit, events - start)):
                append_event(session, actor=ACTOR, action="record.read", target="resource:R1",
                             subjects=["11010519491231002X"], purpose="bench")
    return events / (time.perf_counter() - started)


def main(events: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        plain = _plain_rows(_database(folder, "plain.db"), events)
        sm3 = _database(folder, "sm3.db")
        batched = _chained(sm3, events, BATCH)
        single = _chained(_database(folder, "single.db"), events // 10, 1)
        sha = _chained(_database(folder, "sha.db", "sha256"), events, BATCH)
        started = time.perf_counter()
        with sm3.unit_of_work() as session:
            report = verify_chain(session)
        verify = report.events / (time.perf_counter() - started)
        assert report.intact and report.events == events
    return {
        "benchmark": "audit_chain",
        "events": events,
        "plain_insert_per_s": round(plain),
        "chained_sm3_batch_per_s": round(batched),
        "chained_sha256_batch_per_s": round(sha),
        "chained_sm3_commit_each_per_s": round(single),
        "verify_per_s": round(verify),
        "chained_vs_plain": round(batched / plain, 3),
        "sm3_vs_sha256": round(batched / sha, 3),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)))
