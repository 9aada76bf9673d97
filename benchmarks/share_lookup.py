"""Governed reads under load: datong's share API against a minimal app reading the same row.

Builds a hub (SQLite in a temporary folder, or PostgreSQL in a fresh schema with ``--postgres
URL``) with 20,000 people under an unconditional grant to a consumer system, and a second resource
for a 1M-row load. Then, with wrk on loopback (one thread; the server gets the other core):

- ceiling: a minimal FastAPI app in its own process, no datong code, reading the record by key
  from the same database with the same server settings (uvicorn, one process, same pool size);
- key: ``GET /api/v1/share/{resource}/records/{key}`` (token, grant, masking, purpose, audit);
- subject: ``GET /api/v1/share/subjects/{id}`` (the 一号 view);

at 1, 16 and 64 connections; then the key read at 64 connections while ``datong ingest`` loads
1M rows into the other resource; then the key read at 64 connections with ``datong serve
--workers 2`` (and, for reference, the ceiling with two processes). After each run the audit events it added are counted against the responses wrk
saw (a response still in flight when wrk stops may be audited but not counted: at most one per
connection), and ``datong audit verify`` must say intact.

Prints one JSON object. Usage: python benchmarks/share_lookup.py [SECONDS] [--postgres URL]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
SECRET = "bench-" + "x" * 40


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url(folder: Path, postgres: str | None) -> tuple[str, callable]:
    if not postgres:
        return f"sqlite:///{folder / 'datong.db'}", lambda: None
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from datong.db.engine import make_engine

    schema = f"datong_share_bench_{int(time.time())}"
    admin = make_engine(postgres)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    url = make_url(postgres).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), drop


def prepare(folder: Path, url: str) -> dict:
    """The hub: people under an unconditional grant, and a second resource to load 1M rows into."""
    from benchmarks.ingest import ITEMS, generate_csv
    from datong.bootstrap import initialise
    from datong.catalog import service as catalog
    from datong.catalog.schemas import ResourceIn
    from datong.codes.credit_code import make_credit_code
    from datong.db import Database
    from datong.db.engine import make_engine
    from datong.ingest.flows import run_load
    from datong.ingest.sources import Source
    from datong.security import service as identity
    from datong.security.authz import Actor
    from datong.security.models import ApiClient
    from datong.sharing import service as sharing
    from tests.helpers import POPULATION_HEADER, POPULATION_ITEMS, population_rows
    from tests.ingest.conftest import write_csv

    actor = Actor.system("bench")
    provider, consumer = make_credit_code("1", "1", "330000", "00910001"), make_credit_code("1", "1", "330000", "00910002")
    database = Database(make_engine(url), data_dir=folder)
    initialise(database, actor)

    def resource(name: str, items: list) -> str:
        with database.unit_of_work() as session:
            return catalog.create_resource(session, actor, data=ResourceIn.model_validate({
                "name": name, "provider": provider, "category": "1", "class_code": "01",
                "sharing_type": "unconditional", "sharing_methods": ["api"], "open_type": "none",
                "update_cycle": "daily", "items": items})).code

    with database.unit_of_work() as session:
        identity.create_department(session, actor, code=provider, name="基准公安厅")
        identity.create_department(session, actor, code=consumer, name="基准民政厅")
    code, bulk = resource("常住人口信息", POPULATION_ITEMS), resource("大批量人口信息", ITEMS)
    with database.unit_of_work() as session:
        client, secret = identity.create_client(session, actor, department_code=consumer, name="救助系统")
    rows = population_rows(20_000)
    run_load(database, actor, resource_code=code, mode="full",
             source=Source.from_path(write_csv(folder / "people.csv", POPULATION_HEADER, rows)))
    with database.unit_of_work() as session:
        system = identity.actor_for_client(session.get(ApiClient, client.id))
        sharing.request_access(session, system, resource_code=code, items=[i["name"] for i in POPULATION_ITEMS],
                               purpose="基准测试", legal_basis="基准测试", days=30)
    generate_csv(folder / "bulk.csv", 1_000_000)
    database.dispose()
    return {"code": code, "bulk": bulk, "key": rows[12_345][0], "client_id": client.client_id, "secret": secret}


def ceiling_app():
    """The ceiling: FastAPI and SQLAlchemy only, the same pool size as datong's (the database URL
    in BENCH_CEILING_URL, so that uvicorn can build it in each worker process)."""
    from fastapi import FastAPI
    from sqlalchemy import create_engine, text

    url = os.environ["BENCH_CEILING_URL"]
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"), pool_size=40, max_overflow=10)
    app = FastAPI()
    query = text("SELECT r.payload FROM records r JOIN resources s ON s.id = r.resource_id "
                 "WHERE s.code = :code AND r.key = :key")

    @app.get("/raw/{code:path}/records/{key}")
    def raw(code: str, key: str):
        with engine.connect() as connection:
            payload = connection.execute(query, {"code": code, "key": key}).scalar_one()
        return {"record": json.loads(payload)}

    return app


def ceiling(url: str, port: int, workers: int = 1) -> None:
    import uvicorn

    os.environ["BENCH_CEILING_URL"] = url
    uvicorn.run("benchmarks.share_lookup:ceiling_app", factory=True, host="127.0.0.1", port=port, workers=workers,
                log_level="warning", access_log=False)


class Server:
    running: list[Server] = []

    def __init__(self, args: list[str], env: dict) -> None:
        self.port = _port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, *args] if args[0] == __file__ else [sys.executable, "-m", "datong.cli", *args]
        command += ["--port", str(self.port)] if args[0] != __file__ else [str(self.port)]
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=self.log)
        Server.running.append(self)
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{self.base}/healthz" if args[0] != __file__ else self.base + "/docs", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        self.log.seek(0)
        raise RuntimeError(f"server {args} did not start: {self.log.read().decode()[-2000:]}")

    def stop(self) -> None:
        if self in Server.running:
            Server.running.remove(self)
        self.process.terminate()
        self.process.wait(timeout=60)


def wrk(url: str, connections: int, seconds: int, headers: dict[str, str]) -> dict:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency", url]
    for name, value in headers.items():
        args[1:1] = ["-H", f"{name}: {value}"]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"wrk failed on {url}: {done.stdout} {done.stderr}")
    out = done.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    done = int(re.search(r"(\d+) requests in", out).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    refused = int(non2xx.group(1)) if non2xx else 0
    broken = dict(zip(("connect", "read", "write", "timeout"), map(int, socket_errors.groups()))) if socket_errors else {}
    return {"connections": connections, "requests_per_s": round(rate), "p50": latency.get("50"),
            "p99": latency.get("99"), "errors": refused + sum(broken.values()), "non_2xx": refused,
            "socket_errors": broken, "responses": done}


def _ms(text: str | None) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s)", text or "0ms").groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def audited(env: dict) -> int:
    code = "from datong.settings import load_settings; from datong.db import Database; from sqlalchemy import text; " \
           "d = Database.from_settings(load_settings()); c = d.engine.connect(); " \
           "print(c.execute(text(\"SELECT count(*) FROM audit_events WHERE action IN ('share.read', 'share.subject')\"))" \
           ".scalar()); c.close(); d.dispose()"
    return int(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout)


def verify(env: dict) -> str:
    done = subprocess.run([sys.executable, "-m", "datong.cli", "--lang", "en", "audit", "verify"], env=env,
                          capture_output=True, text=True)
    return (done.stdout or done.stderr).strip()


def measured(run: dict, env: dict, before: int, connections: int) -> dict:
    time.sleep(1.0)  # let requests in flight at wrk's end finish and be audited
    after = audited(env)
    run["audit_events"] = after - before
    run["audit_matches"] = run["responses"] <= after - before <= run["responses"] + connections
    return run


def main(seconds: int, postgres: str | None) -> dict:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    folder = Path(tempfile.mkdtemp(prefix="datong-share-bench-"))
    url, drop = _database_url(folder, postgres)
    setup = prepare(folder, url)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "DATONG_DATA_DIR": str(folder), "DATONG_ENV": "test",
           "DATONG_DATABASE_URL": url, "DATONG_SECRET_KEY": SECRET, "DATONG_SHARE_RATE_PER_MINUTE": str(10**9)}
    results: dict = {"store": "postgresql" if postgres else "sqlite", "seconds_per_run": seconds}
    try:
        raw = Server([__file__, "--ceiling", url], env)
        results["ceiling"] = [wrk(f"{raw.base}/raw/{setup['code']}/records/{setup['key']}", c, seconds, {})
                              for c in (1, 16, 64)]
        raw.stop()
        hub = Server(["serve", "--no-access-log"], env)
        form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": setup["client_id"],
                                       "client_secret": setup["secret"]})
        token = json.load(urllib.request.urlopen(f"{hub.base}/api/v1/auth/token", data=form.encode()))["access_token"]
        headers = {"Authorization": f"Bearer {token}", "X-Purpose": "benchmark", "X-Case-No": "B-1"}
        key_url = f"{hub.base}/api/v1/share/{setup['code']}/records/{setup['key']}"
        for name, target in (("key", key_url), ("subject", f"{hub.base}/api/v1/share/subjects/{setup['key']}")):
            results[name] = []
            for connections in (1, 16, 64):
                before = audited(env)
                results[name].append(measured(wrk(target, connections, seconds, headers), env, before, connections))
        before, started = audited(env), time.perf_counter()
        load = subprocess.Popen([sys.executable, "-m", "datong.cli", "ingest", setup["bulk"], str(folder / "bulk.csv"),
                                 "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        during = wrk(key_url, 64, max(seconds, 20), headers)
        out, err = load.communicate(timeout=1800)
        results["key_during_1m_load"] = measured(during, env, before, 64)
        results["key_during_1m_load"]["load"] = {"exit": load.returncode, "seconds": round(time.perf_counter() - started, 1),
                                                 "counts": (out.strip().splitlines() or [err.strip()[-300:]])[-1]}
        hub.stop()
        results["verify_after_one_worker"] = verify(env)
        two = Server(["serve", "--no-access-log", "--workers", "2"], env)
        before = audited(env)
        results["key_two_workers"] = measured(wrk(key_url.replace(hub.base, two.base), 64, seconds, headers), env,
                                              before, 64)
        two.stop()
        results["verify_after_two_workers"] = verify(env)
        # What two processes gain on this machine with no datong code (the server, wrk and, with
        # --postgres, the database share its cores): the reference for the two-worker figure.
        raw = Server([__file__, "--ceiling", url, "--workers", "2"], env)
        results["ceiling_two_workers"] = wrk(f"{raw.base}/raw/{setup['code']}/records/{setup['key']}", 64, seconds, {})
        raw.stop()
    finally:
        for server in list(Server.running):  # a failed run leaves no server behind
            server.stop()
        drop()
    ceiling64, key64 = results["ceiling"][2], results["key"][2]
    results["targets"] = {
        "key_vs_ceiling_at_64": round(key64["requests_per_s"] / ceiling64["requests_per_s"], 3),
        "key_at_64_errors": key64["errors"], "key_at_64_p99_ms": _ms(key64["p99"]),
        "during_load_errors": results["key_during_1m_load"]["errors"],
        "during_load_p99_ms": _ms(results["key_during_1m_load"]["p99"]),
        "two_workers_vs_one": round(results["key_two_workers"]["requests_per_s"] / key64["requests_per_s"], 3),
        "ceiling_p99_ms_at_64": _ms(ceiling64["p99"]),
        "ceiling_two_workers_vs_one": round(results["ceiling_two_workers"]["requests_per_s"]
                                            / ceiling64["requests_per_s"], 3),
    }
    return results


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--ceiling":
        workers = int(args[args.index("--workers") + 1]) if "--workers" in args else 1
        ceiling(args[1], int(args[-1]), workers)
    else:
        pg = args[args.index("--postgres") + 1] if "--postgres" in args else None
        numbers = [a for a in args if a.isdigit()]
        print(json.dumps(main(int(numbers[0]) if numbers else 10, pg), ensure_ascii=False, indent=2))
