"""Cost of the audit chain, in one process, on SQLite (the chain in its own file) or PostgreSQL.

- plain: the rows the chain holds (real hashes and links, made before the clock starts, so its
  unique hash index sees the same random keys) and their subject rows, inserted with
  executemany in batches of the writer's batch size, one transaction a batch: no hashing while
  timed, no head, no lock (the baseline);
- group commit: the same events through the audit writer (:mod:`datong.security.chain`), submitted
  by 8 threads without waiting, so the writer runs full batches (its capacity);
- waiting callers: 64 threads that each append and wait for the commit, as requests do;
- verify: walking the chain from the database against hashing the same events in memory
  (canonical JSON + SM3, no database).

Prints one JSON object. Usage: python benchmarks/audit_chain.py [EVENTS] [--postgres URL]
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.share_lookup import _database_url  # noqa: E402
from datong.db import Database  # noqa: E402
from datong.db.engine import make_engine  # noqa: E402
from datong.db.migrate import upgrade_to_head  # noqa: E402
from datong.security.audit import verify_chain  # noqa: E402
from datong.security.authz import Actor  # noqa: E402
from datong.security.chain import GENESIS, canonical, digest, make_event  # noqa: E402
from datong.security.models import AuditEvent, AuditSubject  # noqa: E402

ACTOR = Actor(kind="client", name="dtc_bench", department_code="113300000020000120")
BATCH = 512


def _fields(n: int) -> dict:
    return {"actor": ACTOR, "action": "share.read", "target": "resource:101/000001",
            "subjects": [f"3301061980010100{n % 100:02d}"], "purpose": "低保资格审核", "case_number": f"C-{n}",
            "detail": {"grant": 1, "items": ["姓名", "公民身份号码"], "returned": 1}}


def _event(n: int) -> dict:
    return make_event(**_fields(n))


def _reset(database: Database) -> None:
    with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            connection.execute(text("TRUNCATE audit_subjects, audit_events"))
        else:
            connection.execute(text("DELETE FROM audit_subjects"))
            connection.execute(text("DELETE FROM audit_events"))
        connection.execute(text("UPDATE audit_head SET last_seq = 0, last_hash = :h"), {"h": GENESIS})


def _chained(events: int) -> list[dict]:
    """The rows the chain would hold for these events, hashes and links included."""
    rows, prev = [], GENESIS
    for seq in range(1, events + 1):
        event = {**_event(seq - 1), "seq": seq, "algorithm": "sm3", "prev_hash": prev}
        event["hash"] = prev = digest("sm3", canonical(event))
        rows.append(event)
    return rows


def plain(database: Database, events: int) -> float:
    """The same rows the chain gets (real hashes: its unique index sees the same random keys),
    made before the clock starts, inserted in batches."""
    rows = _chained(events)
    started = time.perf_counter()
    for start in range(0, events, BATCH):
        chunk = rows[start:start + BATCH]
        with database.engine.begin() as connection:
            connection.execute(insert(AuditEvent), chunk)
            connection.execute(insert(AuditSubject), [{"subject": e["subjects"][0], "seq": e["seq"]} for e in chunk])
    return events / (time.perf_counter() - started)


def group_commit(database: Database, events: int, threads: int, wait_each: bool) -> float:
    writer = database.audit
    per_thread = events // threads

    # The events exist before the clock starts, as the plain inserts' rows do.
    prepared = [[_event(t * per_thread + n) for n in range(per_thread)] for t in range(threads)]

    def work(t: int) -> None:
        if wait_each:
            for n in range(per_thread):
                writer.record(**_fields(n))
            return
        futures = [writer.submit(event) for event in prepared[t]]
        for future in futures:
            future.result(timeout=600)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    return per_thread * threads / (time.perf_counter() - started)


def in_memory(events: int) -> float:
    rows = [_event(n) for n in range(events)]
    started, prev = time.perf_counter(), GENESIS
    for seq, event in enumerate(rows, 1):
        event.update(seq=seq, algorithm="sm3", prev_hash=prev)
        prev = digest("sm3", canonical(event))
    return events / (time.perf_counter() - started)


def main(events: int, postgres: str | None) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="datong-audit-bench-"))
    url, drop = _database_url(folder, postgres)
    engine = make_engine(url)
    upgrade_to_head(engine)
    database = Database(engine, audit_batch_size=BATCH)
    try:
        baseline = plain(database, events)
        _reset(database)
        capacity = group_commit(database, events, 8, wait_each=False)
        waiting = group_commit(database, min(events, 100_000), 64, wait_each=True)
        with database.reading() as session:
            started = time.perf_counter()
            report = verify_chain(session)
            verified = report.events / (time.perf_counter() - started)
        memory = in_memory(min(events, 200_000))
    finally:
        database.dispose()
        drop()
    assert report.intact, report.describe()
    return {
        "benchmark": "audit_chain", "store": "postgresql" if postgres else "sqlite", "events": events,
        "threads_alive_after": threading.active_count(),
        "plain_batched_insert_per_s": round(baseline), "group_commit_per_s": round(capacity),
        "group_commit_vs_plain": round(capacity / baseline, 3),
        "waiting_callers_64_per_s": round(waiting), "verify": report.describe(),
        "verify_per_s": round(verified), "in_memory_json_sm3_per_s": round(memory),
        "verify_vs_in_memory": round(verified / memory, 3),
    }


if __name__ == "__main__":
    args = sys.argv[1:]
    pg = args[args.index("--postgres") + 1] if "--postgres" in args else None
    numbers = [a for a in args if a.isdigit()]
    print(json.dumps(main(int(numbers[0]) if numbers else 1_000_000, pg), ensure_ascii=False, indent=2))
