"""One window benchmark.

- Intake to acceptance for a 一件事 bundle over the API (open the case with the form filled from the
  registry and licences, complete the form, accept: three calls, every read audited), against the
  share lookup's ceiling (benchmarks/share_lookup.py: FastAPI + SQLAlchemy reading one record by
  key from the same database), both driven by the same Python client at the same concurrency, as a
  ratio of calls per second (goal ≥ 0.3). Both servers run as the share lookup runs them: one
  uvicorn process, no access log (the hub's ``--no-access-log``, for a proxy that logs).
- What one bundle costs the server (in this process, one thread): SQL statements and CPU time,
  in all and per call (open, form, accept).
- 10,000 open cases with parallel reviews whose deadlines fall over 20 working days: each day's
  escalation sweep (what ``datong worker`` runs every round) against the worker's 2-second round,
  and what is left unescalated after it (goal: no backlog).

Prints one JSON object. Usage: python benchmarks/services.py [--seconds S] [--clients C] [--cases N]
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.share_lookup import Server


def _call(conn: http.client.HTTPConnection, method: str, path: str, body: dict | None, headers: dict) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers={**headers, "Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    if response.status >= 400:
        raise RuntimeError(f"{method} {path}: {response.status} {payload[:300].decode(errors='replace')}")
    return json.loads(payload) if payload else {}


def _drive(port: int, clients: int, seconds: float, work) -> dict:
    """Run ``work(conn, n)`` (returns the calls it made) in ``clients`` threads for ``seconds``."""
    calls, errors, stop, said = [0] * clients, [0] * clients, time.perf_counter() + seconds, {}

    def run(k: int) -> None:
        conn, n = http.client.HTTPConnection("127.0.0.1", port, timeout=30), 0
        while time.perf_counter() < stop:
            try:
                calls[k] += work(conn, k + clients * n)  # each client its own applicants, as at real windows
            except Exception as error:  # noqa: BLE001 - counted (the first few kinds kept), the run goes on
                errors[k] += 1
                if len(said) < 3:
                    said.setdefault(f"{type(error).__name__}: {str(error)[:200]}", 0)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            n += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {"calls": sum(calls), "errors": sum(errors), "calls_per_s": round(sum(calls) / elapsed, 1),
            **({"error_kinds": list(said)} if said else {})}


def _setup(folder: Path, env: dict) -> dict:
    subprocess.run([sys.executable, "-m", "datong.cli", "demo", "--people", "3000", "--no-serve"], env=env, cwd=folder,
                   check=True, capture_output=True)
    code = ("import json; from sqlalchemy import select; from datong.settings import load_settings; from datong.db import Database; "
            "from datong.store.models import Record; from datong.registry import service as r; "
            "d = Database.from_settings(load_settings()); s = d.sessions(); "
            "reg = r.registry_resource(s, 'person'); pop = s.execute(select(Record.key).where(Record.resource_id == reg.id)"
            ".limit(2000)).scalars().all(); "
            "print(json.dumps({'keys': list(pop), 'registry': reg.code})); s.close(); d.dispose()")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _bundle(call, keys: list[str], n: int) -> int:
    """出生一件事 from intake to acceptance: open with prefill, complete the form (the newborn's data,
    and what the registry holds no value for, as the clerk asks the applicant), accept (3 calls)."""
    newborn = {"新生儿姓名": "小明", "新生儿性别": "1", "新生儿出生日期": date.today().isoformat(), "出生医学证明编号": "Q3300001"}
    case = call("POST", "/api/v1/cases", {"applicant": keys[n % len(keys)], "bundle": "YJS-CS", "authorised": True})
    asked = {name: "窗口补填" for name, value in case["form"].items() if value in ("", None)}
    call("PATCH", f"/api/v1/cases/{case['number']}/form", {"values": {**asked, **newborn}})
    accepted = call("POST", f"/api/v1/cases/{case['number']}/accept", None)
    assert accepted["status"] == "in_review", accepted["status"]
    return 3


def work(count: int, env: dict, setup: dict) -> dict:
    """What one bundle's intake costs the server, in one thread with the app in this process: the
    SQL statements it sends through SQLAlchemy and those it sends at
    the driver level (``datong.db.snapshot``'s reads and writes and the audit writer's batches,
    counted apart: each costs a fraction of one through the ORM), which do not depend on the
    machine's load, and CPU time."""
    os.environ.update(env)
    from sqlalchemy import event
    from starlette.testclient import TestClient

    from datong.app import create_app
    from datong.db.snapshot import Snapshot
    from datong.security.chain import AuditWriter

    app, statements, driver = create_app(), [0], [0]
    event.listen(app.state.database.engine, "before_cursor_execute",
                 lambda *a: statements.__setitem__(0, statements[0] + 1))
    run, write = Snapshot._run, Snapshot.write

    def counted(snapshot, sql: str, params: dict) -> list[tuple]:
        driver[0] += 1
        return run(snapshot, sql, params)

    def written(snapshot, prepared, params) -> list[tuple]:
        driver[0] += 1  # an executemany counts once: one call to the driver
        return write(snapshot, prepared, params)

    Snapshot._run, Snapshot.write = counted, written
    batch = AuditWriter._transaction

    class Counting:  # the audit writer's cursor: its statements are driver-level calls too
        def __init__(self, cursor) -> None:
            self.cursor = cursor

        def execute(self, *args):
            driver[0] += 1
            return self.cursor.execute(*args)

        def executemany(self, *args):
            driver[0] += 1
            return self.cursor.executemany(*args)

        def __getattr__(self, name):
            return getattr(self.cursor, name)

    @contextmanager
    def counted_batch(writer):
        with batch(writer) as cursor:
            yield Counting(cursor)

    AuditWriter._transaction = counted_batch
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/token", data={"grant_type": "password", "username": "zwfw_clerk",
                                                        "password": "Datong@2026"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        calls: dict[str, list] = {}  # this bundle's, per call: statements, driver statements, CPU seconds

        def call(method: str, path: str, body: dict | None) -> dict:
            before, under, started = statements[0], driver[0], time.process_time()
            response = client.request(method, path, json=body, headers=headers)
            if response.status_code >= 400:
                raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
            kind = "open" if method == "POST" and path == "/api/v1/cases" else path.rsplit("/", 1)[-1]
            calls[kind] = [statements[0] - before, driver[0] - under, time.process_time() - started]
            return response.json()

        keys = setup["keys"][-count:]  # not the ones the load test used
        totals: dict[str, list] = {}
        done = 0
        for n in range(count):
            calls.clear()
            try:
                _bundle(call, keys, n)
            except RuntimeError:  # an applicant the hub cannot take in: not counted
                continue
            if n:  # the first warms the caches
                done += 1
                for kind, figures in calls.items():
                    totals[kind] = [a + b for a, b in zip(totals.get(kind, [0, 0, 0.0]), figures)]
    Snapshot._run, Snapshot.write, AuditWriter._transaction = run, write, batch
    app.state.database.dispose()
    per = max(done, 1)
    return {"bundles": done, "statements_per_bundle": round(sum(t[0] for t in totals.values()) / per, 1),
            "driver_statements_per_bundle": round(sum(t[1] for t in totals.values()) / per, 1),
            "cpu_ms_per_bundle": round(sum(t[2] for t in totals.values()) * 1000 / per, 2),
            "per_call": {kind: {"statements": round(t[0] / per, 1), "driver_statements": round(t[1] / per, 1),
                                "cpu_ms": round(t[2] * 1000 / per, 2)} for kind, t in totals.items()}}


def intake(seconds: float, clients: int, folder: Path, env: dict, setup: dict) -> dict:
    hub = Server(["serve", "--no-access-log"], env)  # as the ceiling serves, and as share_lookup runs the hub
    try:
        conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=30)
        conn.request("POST", "/api/v1/auth/token", body=urlencode({"grant_type": "password", "username": "zwfw_clerk",
                                                                     "password": "Datong@2026"}),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        token = json.loads(conn.getresponse().read())["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        served = _drive(hub.port, clients, seconds,
                        lambda c, n: _bundle(lambda *a: _call(c, *a, headers), setup["keys"], n))
    finally:
        hub.stop()
    raw = Server([str(ROOT / "benchmarks" / "share_lookup.py"), "--ceiling", env["DATONG_DATABASE_URL"]], env)
    try:
        code, keys = quote(setup["registry"], safe=""), setup["keys"]

        def lookup(c, n) -> int:
            c.request("GET", f"/raw/{setup['registry']}/records/{keys[n % len(keys)]}")
            response = c.getresponse()
            response.read()
            return 1 if response.status == 200 else 0

        ceiling = _drive(raw.port, clients, seconds, lookup)
    finally:
        raw.stop()
    return {"clients": clients, "bundle_intake": served, "ceiling": ceiling, "code": code,
            "intake_call_vs_ceiling": round(served["calls_per_s"] / ceiling["calls_per_s"], 3)}


def timers(count: int, env: dict) -> dict:
    """Open cases and their parallel reviews written in bulk, deadlines over 20 working days; each
    day's sweep timed."""
    os.environ.update(env)
    from sqlalchemy import func, insert, select

    from datong.db import Database
    from datong.services.calendar import add_working_days
    from datong.services.models import Case, ReviewTask, ServiceItem
    from datong.services.review import escalate_overdue
    from datong.settings import load_settings

    database = Database.from_settings(load_settings())
    today = date.today()
    with database.unit_of_work() as session:
        item = session.scalar(select(ServiceItem).where(ServiceItem.code == "RS-0003"))
        first = session.scalar(select(func.max(Case.id))) or 0
        session.execute(insert(Case), [
            {"number": f"BENCH{n:08d}", "item_id": item.id, "applicant_kind": "person", "applicant_key": f"K{n:017d}",
             "channel": "window", "status": "in_review", "form": {}, "sources": {}, "materials": [],
             "accepted_on": today, "due_on": add_working_days(today, 20), "created_by": "bench", "visits": 1,
             "paused_days": 0, "automatic": False} for n in range(count)])
        ids = list(session.scalars(select(Case.id).where(Case.id > first, Case.number.like("BENCH%"))))
        depts = [item.department_id, item.department_id]
        session.execute(insert(ReviewTask), [
            {"case_id": case_id, "step": f"review_1_{k + 1}", "name": "审核", "department_id": depts[k], "status": "open",
             "opened_on": today, "due_on": add_working_days(today, 1 + (n % 20)), "sample": False, "note": ""}
            for n, case_id in enumerate(ids) for k in range(2)])
    days, worst, escalated = [], 0.0, 0
    for offset in range(1, 31):
        day = today + timedelta(days=offset)
        started = time.perf_counter()
        done = escalate_overdue(database, today=day)
        took = time.perf_counter() - started
        with database.reading() as session:
            left = session.scalar(select(func.count()).select_from(ReviewTask).where(
                ReviewTask.status == "open", ReviewTask.due_on < day, ReviewTask.escalated_at.is_(None)))
        worst, escalated = max(worst, took), escalated + done
        days.append({"day": day.isoformat(), "escalated": done, "seconds": round(took, 3), "backlog_after": left})
    database.dispose()
    return {"open_cases": count, "review_tasks": 2 * count, "escalated": escalated,
            "worst_sweep_s": round(worst, 3), "worst_sweep_vs_worker_round": round(worst / 2.0, 3),
            "backlog_after_every_sweep": max(d["backlog_after"] for d in days), "days": days}


def main() -> dict:
    args = sys.argv[1:]
    seconds = float(args[args.index("--seconds") + 1]) if "--seconds" in args else 20.0
    clients = int(args[args.index("--clients") + 1]) if "--clients" in args else 16
    cases = int(args[args.index("--cases") + 1]) if "--cases" in args else 10_000
    folder = Path(tempfile.mkdtemp(prefix="datong-services-"))
    env = {**os.environ, "DATONG_DATA_DIR": str(folder), "DATONG_DATABASE_URL": f"sqlite:///{folder}/datong.db",
           "DATONG_ENV": "development", "DATONG_SECRET_KEY": "bench-" + "x" * 40}
    try:
        setup = _setup(folder, env)
        return {"intake": intake(seconds, clients, folder, env, setup), "per_bundle": work(200, env, setup),
                "timers": timers(cases, env)}
    finally:
        for server in list(Server.running):
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(main(), ensure_ascii=False, indent=2))
