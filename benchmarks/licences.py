"""Licences: how much the wrapping costs against the raw primitives, measured in one process.

- raw sign and verify per second for SM2 (Tongsuo), Ed25519 and ECDSA P-256 (``cryptography``)
  over a licence's canonical bytes;
- verify wrapped: ``documents.check`` on a presented signed licence (certificate chain, canonical
  form, signature, status and expiry), per algorithm, as a ratio of the raw verify of the same
  bytes with the same key, the two measured in alternating slices (goal ≥ 0.8);
- bulk issuing N licences from a loaded resource (``flows.issue_from_snapshot``: DuckDB diff,
  drafts checked, signed, written in chunks with audit events), as a ratio of the raw sign rate of
  the seal's algorithm (goal ≥ 0.5); SM2 by default, ``--algorithm`` for the others;
- one PDF rendered on demand (milliseconds, for reference);
- ``POST /api/v1/licences/verify`` under wrk at 16 and 64 connections against the share
  benchmark's ceiling app (FastAPI + SQLAlchemy reading one record by key from the same database),
  as a ratio (goal ≥ 0.5).

Prints one JSON object. Usage: python benchmarks/licences.py [N] [--algorithm sm2|ed25519|p256] [--seconds S]
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from benchmarks.share_lookup import SECRET, Server, wrk  # noqa: E402

FIELDS = {"持证人": ("DE0002", "姓名"), "配偶姓名": (None, "配偶姓名"), "登记日期": ("DE0020", "登记日期"),
          "结婚证字号": ("DE0019", "登记编号")}


def rate(fn, seconds: float = 1.5) -> float:
    """Calls per second of ``fn`` over about ``seconds``."""
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(50):
            fn()
        n += 50
    return n / elapsed


def primitives(document: bytes) -> dict:
    from datong.licenses import signing

    out = {}
    for algorithm in signing.ALGORITHMS:
        key = signing.generate(algorithm)
        public = signing.load_public(algorithm, signing.public_pem(key, algorithm))
        signature = signing.sign(key, algorithm, document)
        out[algorithm] = {"sign_per_s": rate(lambda: signing.sign(key, algorithm, document)),
                          "verify_per_s": rate(lambda: signing.verify(public, algorithm, signature, document))}
    return out


def _sample(database) -> bytes:
    from sqlalchemy import select

    from datong.licenses.models import Licence

    with database.reading() as session:
        return session.scalar(select(Licence.document).order_by(Licence.id).limit(1)).encode()


def prepare(folder: Path, n: int, algorithm: str):
    from datong.bootstrap import initialise
    from datong.catalog import service as catalog
    from datong.catalog.schemas import ResourceIn
    from datong.codes.credit_code import make_credit_code
    from datong.db import Database
    from datong.db.engine import make_engine
    from datong.ingest.flows import run_load
    from datong.ingest.sources import Source
    from datong.licenses import keys, service
    from datong.security import service as identity
    from datong.security.authz import Actor
    from tests.helpers import citizen_id

    actor = Actor.system("bench")
    bureau, civil = make_credit_code("1", "1", "330000", "00920001"), make_credit_code("1", "1", "330000", "00920002")
    url = f"sqlite:///{folder / 'datong.db'}"
    database = Database(make_engine(url), data_dir=folder, secret=SECRET)
    initialise(database, actor)
    with database.unit_of_work() as session:
        identity.create_department(session, actor, code=bureau, name="基准大数据局")
        identity.create_department(session, actor, code=civil, name="基准民政厅")
        identity.create_user(session, actor, username="bench_boss", display_name="B", department_code=bureau,
                             roles=["bureau_admin"], password="Bench#Pass2026")
        keys.create_seal(session, actor, department=civil, name="基准民政厅证照专用章", algorithm=algorithm)
        code = catalog.create_resource(session, actor, data=ResourceIn.model_validate({
            "name": "婚姻登记信息", "provider": civil, "sharing_type": "conditional", "sharing_condition": "核验",
            "sharing_methods": ["api"], "open_type": "none", "update_cycle": "daily",
            "items": [{"name": "登记编号", "element": "DE0019", "key": "record"},
                      {"name": "公民身份号码", "element": "DE0001", "key": "person"},
                      {"name": "姓名", "element": "DE0002"},
                      {"name": "配偶姓名", "data_type": "string", "note": "配偶"},
                      {"name": "登记日期", "element": "DE0020"}]})).code
    path = folder / "marriages.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["登记编号", "公民身份号码", "姓名", "配偶姓名", "登记日期"])
        for i in range(n):
            writer.writerow([f"J{i:08d}", citizen_id(i + 1, "19880808"), f"新郎{i % 9973}", f"新娘{i % 7919}",
                             "2026-10-01"])
    run_load(database, actor, resource_code=code, source=Source.from_path(path))
    with database.unit_of_work() as session:
        service.save_licence_type(session, actor, spec=service.TypeSpec(
            code=make_credit_code("1", "1", "100000", "00001234") + "001", name="结婚证", ministry="民政部",
            issuers=[civil], holder_kind="person", fields=[{"name": f, "element": e} for f, (e, _) in FIELDS.items()],
            source=code, mapping={"holder_key": "公民身份号码", "holder_name": "姓名",
                                  "fields": {f: item for f, (_, item) in FIELDS.items()}}))
    return database, actor, url, code


def bulk(database, actor, n: int) -> dict:
    from datong.licenses import flows, service
    from datong.store.snapshots import last_snapshot

    with database.reading() as session:
        kind = service.licence_type(session, "结婚证")
        snapshot = last_snapshot(session, kind.source_resource_id)
    started = time.perf_counter()
    report = flows.issue_from_snapshot(database, actor, type_code=kind.code, snapshot=snapshot)
    seconds = time.perf_counter() - started
    assert report.issued == n, report
    return {"licences": n, "seconds": round(seconds, 2), "per_s": round(n / seconds)}


def wrapped(database) -> tuple[dict, dict, str]:
    """documents.check per second for one licence of each algorithm (seals rotated in turn)."""
    from sqlalchemy import select

    from datong.licenses import documents, keys, service, signing
    from datong.licenses.models import Licence, Seal
    from datong.security.authz import Actor

    out, first = {}, None
    actor = Actor.system("bench")
    for algorithm in signing.ALGORITHMS:
        with database.unit_of_work() as session:
            seal = session.scalar(select(Seal))
            keys.rotate_seal(session, actor, seal_id=seal.id, algorithm=algorithm)
            lic = service.issue_licences(session, actor, type_code="结婚证", drafts=[service.Draft(
                "11010519491231002X", "样本", {"持证人": "样本", "配偶姓名": "配偶", "登记日期": "2026-01-01",
                                               "结婚证字号": "S1"})])[0]
            presented = documents.Presented("signed", identifier=lic.identifier, document=json.loads(lic.document),
                                            signature=signing.unb64(lic.signature), kid=lic.key.kid)
            ring = documents.Keyring(keys.published_keys(session))
            first = first or lic.identifier
        from datetime import date

        today = date.today()
        assert documents.check(presented, ring, today=today, status=0).outcome == "valid"
        public = signing.load_public(algorithm, lic.key.public_pem)
        data, signature = lic.document.encode(), signing.unb64(lic.signature)
        rounds = [(rate(lambda: signing.verify(public, algorithm, signature, data), 0.4),
                   rate(lambda: documents.check(presented, ring, today=today, status=0), 0.4)) for _ in range(5)]
        out[algorithm] = {"raw_per_s": round(sorted(r for r, _ in rounds)[2]),
                          "wrapped_per_s": round(sorted(w for _, w in rounds)[2]),
                          "ratio": round(sorted(w / r for r, w in rounds)[2], 3)}
    with database.reading() as session:
        lic = session.scalar(select(Licence).where(Licence.identifier == first))
        from datong.licenses import render

        started = time.perf_counter()
        for _ in range(5):
            pdf = render.pdf(lic.document, lic.signature, lic.key.kid, lic.key.algorithm, seal_kind="证照专用章",
                             base_url="http://127.0.0.1:8000", order=list(FIELDS))
        pdf_ms = (time.perf_counter() - started) / 5 * 1000
        body = json.dumps(render.signed_json(lic.document, lic.signature, lic.key.kid, lic.key.algorithm),
                          ensure_ascii=False)
    return out, {"pdf_ms": round(pdf_ms, 1), "pdf_kb": round(len(pdf) / 1024, 1)}, body


def api(folder: Path, url: str, code: str, body: str, seconds: int) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        key = connection.execute(text("SELECT key FROM records ORDER BY id LIMIT 1")).scalar_one()
    engine.dispose()
    script = folder / "verify.lua"
    script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                      f"wrk.body = {json.dumps(body, ensure_ascii=False)}\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "DATONG_DATA_DIR": str(folder), "DATONG_ENV": "test",
           "DATONG_DATABASE_URL": url, "DATONG_SECRET_KEY": SECRET}
    out = {}
    raw = Server([str(ROOT / "benchmarks" / "share_lookup.py"), "--ceiling", url], env)
    try:
        from urllib.parse import quote

        out["ceiling"] = [wrk(f"{raw.base}/raw/{code}/records/{quote(key)}", c, seconds, {}) for c in (16, 64)]
    finally:
        raw.stop()
    hub = Server(["serve"], env)
    try:
        out["verify"] = [_wrk_post(f"{hub.base}/api/v1/licences/verify", c, seconds, script) for c in (16, 64)]
    finally:
        hub.stop()
    return out


def _wrk_post(url: str, connections: int, seconds: int, script: Path) -> dict:
    import re
    import subprocess

    done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
                           url], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stdout + done.stderr)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    return {"connections": connections,
            "requests_per_s": round(float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))),
            "non_2xx": int(non2xx.group(1)) if non2xx else 0}


def main(n: int, algorithm: str, seconds: int) -> dict:

    folder = Path(tempfile.mkdtemp(prefix="datong-licence-bench-"))
    try:
        database, actor, url, code = prepare(folder, n, algorithm)
        issued = bulk(database, actor, n)
        raw = primitives(_sample(database))  # a real licence's canonical bytes
        checks, pdf, body = wrapped(database)
        database.dispose()
        result = {
            "licences": n, "bulk_algorithm": algorithm, "raw": {a: {k: round(v) for k, v in r.items()}
                                                                for a, r in raw.items()},
            "bulk_issue": issued,
            "bulk_vs_raw_sign": round(issued["per_s"] / raw[algorithm]["sign_per_s"], 3),
            "bulk_signing_threads": min(os.cpu_count() or 1, 4) if algorithm == "sm2" else 1,
            "verify_wrapped": checks,  # raw and wrapped alternating on the same licence and key, medians of 5
            "verify_wrapped_vs_raw": {a: checks[a]["ratio"] for a in checks},
            **pdf,
        }
        if shutil.which("wrk"):
            served = api(folder, url, code, body, seconds)
            result["api"] = served
            result["api_verify_vs_ceiling"] = [round(v["requests_per_s"] / c["requests_per_s"], 3)
                                               for v, c in zip(served["verify"], served["ceiling"])]
        else:
            result["api"] = "wrk is not installed (apt-get install wrk)"
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    algorithm = args[args.index("--algorithm") + 1] if "--algorithm" in args else "sm2"
    seconds = int(args[args.index("--seconds") + 1]) if "--seconds" in args else 8
    numbers = [a for a in args if a.isdigit() and (args.index(a) == 0 or args[args.index(a) - 1] not in
                                                 ("--seconds",))]
    print(json.dumps(main(int(numbers[0]) if numbers else 100_000, algorithm, seconds), ensure_ascii=False))
