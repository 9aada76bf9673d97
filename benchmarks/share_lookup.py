"""Cost of a governed read: the real share API against a bare lookup of the same record.

Builds a hub with 20,000 people loaded and an unconditional grant to a consumer system, starts
the server on 127.0.0.1 (one process), and drives it with wrk from Debian on loopback:

- (a) a bare FastAPI endpoint, added here only, that reads the record by key: no token, no grant,
  no masking, no audit;
- (b) ``GET /api/v1/share/{resource}/records/{key}`` with a bearer token, the grant check,
  masking, purpose and an audit event appended to the hash chain for every request.

Prints one JSON object: requests/s and p50/p99 latency of each, the ratio b/a, and the result of
``datong audit verify`` afterwards. Usage: python benchmarks/share_lookup.py [SECONDS]
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
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(folder: Path) -> dict:
    """A database with a loaded resource and a consumer system holding an unconditional grant."""
    sys.path.insert(0, str(ROOT))
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
    database = Database(make_engine(f"sqlite:///{folder / 'datong.db'}"), data_dir=folder)
    initialise(database, actor)
    with database.unit_of_work() as session:
        identity.create_department(session, actor, code=provider, name="基准公安厅")
        identity.create_department(session, actor, code=consumer, name="基准民政厅")
        code = catalog.create_resource(session, actor, data=ResourceIn.model_validate({
            "name": "常住人口信息", "provider": provider, "category": "1", "class_code": "01",
            "sharing_type": "unconditional", "sharing_methods": ["api"], "open_type": "none",
            "update_cycle": "daily", "items": POPULATION_ITEMS})).code
        client, secret = identity.create_client(session, actor, department_code=consumer, name="救助系统")
        client_id = client.client_id
    rows = population_rows(20_000)
    run_load(database, actor, resource_code=code, mode="full",
             source=Source.from_path(write_csv(folder / "people.csv", POPULATION_HEADER, rows)))
    with database.unit_of_work() as session:
        consumer_actor = identity.actor_for_client(session.get(ApiClient, client.id))
        sharing.request_access(session, consumer_actor, resource_code=code, items=[i["name"] for i in POPULATION_ITEMS],
                               purpose="基准测试", legal_basis="基准测试", days=30)
    database.dispose()
    return {"code": code, "key": rows[12_345][0], "client_id": client_id, "secret": secret}


def serve(folder: str, port: int) -> None:
    """The server process: the real app plus the bare endpoint (a)."""
    import uvicorn
    from sqlalchemy import select

    from datong.app import create_app
    from datong.catalog.models import Resource
    from datong.store.models import Record
    from datong.settings import Settings

    settings = Settings(data_dir=Path(folder), env="test", secret_key="bench-" + "x" * 40,
                        share_rate_per_minute=10**9)
    app = create_app(settings)

    @app.get("/bench/raw/{code:path}/records/{key}")
    def raw(code: str, key: str):
        with app.state.database.unit_of_work() as session:
            resource_id = session.scalar(select(Resource.id).where(Resource.code == code))
            payload = session.scalar(select(Record.payload).where(Record.resource_id == resource_id, Record.key == key))
        return {"record": json.loads(payload)}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def wrk(url: str, seconds: int, headers: dict[str, str]) -> dict:
    args = ["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency", url]
    for name, value in headers.items():
        args[1:1] = ["-H", f"{name}: {value}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests_per_s": round(rate), "p50": latency.get("50"), "p99": latency.get("99"),
            "non_2xx": int(errors.group(1)) if errors else 0}


def main(seconds: int) -> dict:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    folder = Path(tempfile.mkdtemp(prefix="datong-share-bench-"))
    setup = prepare(folder)
    port = _port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(folder), str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        form = f"grant_type=client_credentials&client_id={setup['client_id']}&client_secret={setup['secret']}"
        token = json.load(urllib.request.urlopen(f"{base}/api/v1/auth/token", data=form.encode()))["access_token"]
        bare = wrk(f"{base}/bench/raw/{setup['code']}/records/{setup['key']}", seconds, {})
        governed = wrk(f"{base}/api/v1/share/{setup['code']}/records/{setup['key']}", seconds,
                       {"Authorization": f"Bearer {token}", "X-Purpose": "benchmark", "X-Case-No": "B-1"})
    finally:
        server.terminate()
        server.wait(timeout=30)
    verify = subprocess.run([sys.executable, "-m", "datong.cli", "--lang", "en", "audit", "verify"], env={
        **env, "DATONG_DATA_DIR": str(folder), "DATONG_ENV": "test"}, capture_output=True, text=True)
    return {"bare_lookup": bare, "share_api": governed,
            "ratio_share_vs_bare": round(governed["requests_per_s"] / bare["requests_per_s"], 3),
            "audit_verify": verify.stdout.strip() or verify.stderr.strip(), "audit_verify_exit": verify.returncode}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 15), ensure_ascii=False, indent=2))
