"""Many callers at once, on both databases: reads while a load commits, two server processes, two
delivery workers, and a busy database answered with 503 instead of 500."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from datong.catalog import service as catalog
from datong.catalog.schemas import ResourceIn
from datong.codes.credit_code import make_credit_code
from datong.db.engine import audit_path
from datong.ingest.flows import run_load
from datong.ingest.sources import Source
from datong.security import service as identity
from datong.security.audit import verify_chain
from datong.security.chain import LOCK_KEY
from datong.security.models import AuditEvent
from datong.sharing import subscriptions
from tests.conftest import _free_port
from tests.helpers import DEPT_CODE, OTHER_CODE, POPULATION_HEADER, POPULATION_ITEMS, cli_env, population_rows, \
    resource_body
from tests.ingest.conftest import write_csv


def _call(url: str, *, headers: dict | None = None, data: bytes | None = None, method: str | None = None):
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


@pytest.fixture
def granted(database, operator, world, tmp_path):
    """An unconditional resource of 公安 with 2,000 people, a 民政 system holding a grant, and a
    second resource to load into while others read."""
    with database.unit_of_work() as session:
        code = catalog.create_resource(session, operator, data=ResourceIn.model_validate(resource_body(
            DEPT_CODE, name="常住人口信息", items=POPULATION_ITEMS, sharing_type="unconditional",
            sharing_methods=["api", "subscription"]))).code
        other = catalog.create_resource(session, operator, data=ResourceIn.model_validate(resource_body(
            DEPT_CODE, name="流动人口信息", items=POPULATION_ITEMS))).code
        system, secret = identity.create_client(session, operator, department_code=OTHER_CODE, name="救助系统")
        client_id = system.client_id
        consumer = identity.actor_for_client(system)
        from datong.sharing import service as sharing

        sharing.request_access(session, consumer, resource_code=code, items=[i["name"] for i in POPULATION_ITEMS],
                               purpose="救助资格核查", legal_basis="《社会救助暂行办法》", days=30)
    rows = population_rows(2000)
    run_load(database, operator, resource_code=code, source=Source.from_path(
        write_csv(tmp_path / "people.csv", POPULATION_HEADER, rows)))
    return {"code": code, "other": other, "rows": rows, "client_id": client_id, "secret": secret}


def _token(base: str, granted: dict) -> str:
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": granted["client_id"],
                                   "client_secret": granted["secret"]}).encode()
    status, body, _ = _call(f"{base}/api/v1/auth/token", data=form)
    assert status == 200, body
    return json.loads(body)["access_token"]


def _reads(database, actor: str) -> int:
    with database.reading() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "share.read", AuditEvent.actor == actor))


def test_reads_while_a_load_commits_are_all_answered_and_audited_once(database, operator, granted, live_server,
                                                                       tmp_path, app):
    app.state.settings = app.state.settings.model_copy(update={"share_rate_per_minute": 10**6})
    headers = {"Authorization": f"Bearer {_token(live_server, granted)}", "X-Purpose": "core"}
    keys = [r[0] for r in granted["rows"]]
    big = write_csv(tmp_path / "big.csv", POPULATION_HEADER, population_rows(40_000, start=5000))
    outcome: dict = {}

    def load() -> None:
        outcome["load"] = run_load(database, operator, resource_code=granted["other"], source=Source.from_path(big))

    loader = threading.Thread(target=load)
    statuses: list[int] = []

    def reader(n: int) -> None:
        while loader.is_alive() or len([s for s in statuses if s == 200]) < 50:
            key = keys[(n * 97 + len(statuses)) % len(keys)]
            statuses.append(_call(f"{live_server}/api/v1/share/{granted['code']}/records/{key}", headers=headers)[0])

    loader.start()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(reader, range(16)))
    loader.join()
    assert outcome["load"].status == "committed" and outcome["load"].inserted > 20_000
    assert statuses and set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    assert _reads(database, granted["client_id"]) == len(statuses)  # every answer audited, exactly once
    with database.reading() as session:
        assert verify_chain(session).intact


@pytest.fixture
def two_servers(settings, granted):
    env = {**os.environ, **cli_env(settings), "DATONG_SHARE_RATE_PER_MINUTE": "1000000"}
    servers = []
    for _ in range(2):
        port = _free_port()
        process = subprocess.Popen([sys.executable, "-m", "datong.cli", "serve", "--port", str(port)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        servers.append((process, f"http://127.0.0.1:{port}"))
    for process, base in servers:
        for _ in range(200):
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode())
            try:
                if _call(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
    yield [base for _, base in servers]
    for process, _ in servers:
        process.terminate()
        process.wait(timeout=30)


def test_two_server_processes_read_and_write_one_store_and_one_chain(database, granted, two_servers, world):
    token = _token(two_servers[0], granted)  # a token from one process is good at the other
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "core"}
    keys = [r[0] for r in granted["rows"]]

    def read(n: int) -> int:
        base = two_servers[n % 2]
        return _call(f"{base}/api/v1/share/{granted['code']}/records/{keys[n]}", headers=headers)[0]

    def write(n: int) -> int:  # each process registers systems for 公安 at the same time
        form = urllib.parse.urlencode({"grant_type": "password", "username": "dadmin", "password": "Test#Pass2026"})
        status, body, _ = _call(f"{two_servers[n % 2]}/api/v1/auth/token", data=form.encode())
        assert status == 200, body
        admin = {"Authorization": f"Bearer {json.loads(body)['access_token']}", "Content-Type": "application/json"}
        return _call(f"{two_servers[n % 2]}/api/v1/clients", headers=admin, method="POST",
                     data=json.dumps({"department_code": DEPT_CODE, "name": f"系统{n}"}).encode())[0]

    with ThreadPoolExecutor(12) as pool:
        reads = list(pool.map(read, range(120)))
        writes = list(pool.map(write, range(12)))
    assert set(reads) == {200} and set(writes) == {201}, (reads, writes)
    assert _reads(database, granted["client_id"]) == 120
    with database.reading() as session:
        created = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "client.create", AuditEvent.target.like("client:%")))
        assert created >= 12 and verify_chain(session).intact


@pytest.fixture
def settings(settings):
    """The test receivers listen on 127.0.0.1, which callbacks may reach only when allowed."""
    return settings.model_copy(update={"callback_allow": "127.0.0.1"})


class Receiver:
    """A subscriber's endpoint that remembers every delivery id it was sent."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                self.rfile.read(int(self.headers["Content-Length"]))
                seen.append(self.headers["webhook-id"])
                time.sleep(0.01)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_two_workers_send_each_delivery_once(database, operator, granted, settings, tmp_path):
    receiver = Receiver()
    with database.unit_of_work() as session:
        from datong.security.models import ApiClient

        system = identity.actor_for_client(session.scalar(select(ApiClient).where(
            ApiClient.client_id == granted["client_id"])))
        grant_id = session.execute(text("SELECT id FROM grants")).scalar()
        subscriptions.subscribe(session, system, grant_id=grant_id, callback_url=receiver.url)
    changed = [[r[0], r[1] + "改", *r[2:]] for r in granted["rows"][:60]]
    run_load(database, operator, resource_code=granted["code"], mode="incremental", source=Source.from_path(
        write_csv(tmp_path / "changed.csv", POPULATION_HEADER, changed)))
    env = {**os.environ, **cli_env(settings)}
    workers = [subprocess.Popen([sys.executable, "-m", "datong.cli", "worker", "--once"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    assert len(receiver.seen) == 60 and len(set(receiver.seen)) == 60, sorted(receiver.seen)
    receiver.server.shutdown()


def test_a_busy_database_answers_503_with_retry_after_and_reads_go_on(settings, granted, database, world):
    from fastapi.testclient import TestClient

    from datong.app import create_app
    from datong.db import Database

    quick = settings.model_copy(update={"busy_timeout_seconds": 0.3})
    hub = Database.from_settings(quick)
    with TestClient(create_app(quick, hub)) as client:
        form = {"grant_type": "client_credentials", "client_id": granted["client_id"],
                "client_secret": granted["secret"]}
        read = {"Authorization": f"Bearer {client.post('/api/v1/auth/token', data=form).json()['access_token']}",
                "X-Purpose": "core"}
        blocker = database.engine.connect()
        if database.dialect == "sqlite":  # another writer holds the main file's write lock
            blocker.exec_driver_sql("UPDATE main.alembic_version SET version_num = version_num")
        else:  # another transaction holds a lock every sign-in needs
            blocker.exec_driver_sql("LOCK TABLE audit_outbox IN ACCESS EXCLUSIVE MODE")
        try:
            busy = client.post("/api/v1/auth/token", data=form, headers={"Accept-Language": "en"})
            assert busy.status_code == 503, busy.text
            assert int(busy.headers["retry-after"]) > 0
            assert busy.headers["content-type"].startswith("application/problem+json")
            assert busy.json()["code"] == "database_busy" and "try again" in busy.json()["detail"]
            if database.dialect == "sqlite":  # reads do not wait for the writer
                url = f"/api/v1/share/{granted['code']}/records/{granted['rows'][0][0]}"
                assert client.get(url, headers=read).status_code == 200
        finally:
            blocker.rollback()
            blocker.close()
        assert client.post("/api/v1/auth/token", data=form).status_code == 200
    hub.dispose()


def test_the_cli_waits_then_says_the_database_is_busy(settings, database, world):
    env = {**os.environ, **cli_env(settings), "DATONG_BUSY_TIMEOUT_SECONDS": "0.3"}
    blocker = database.engine.connect()
    if database.dialect == "sqlite":
        blocker.exec_driver_sql("UPDATE main.alembic_version SET version_num = version_num")
    else:
        blocker.exec_driver_sql("LOCK TABLE departments IN ACCESS EXCLUSIVE MODE")  # every write here reads it
    try:
        code = make_credit_code("1", "1", "330000", "00300009")
        done = subprocess.run([sys.executable, "-m", "datong.cli", "--lang", "en", "dept", "add", "--code", code,
                               "--name", "新部门"], env=env, capture_output=True, text=True, timeout=60)
    finally:
        blocker.rollback()
        blocker.close()
    assert done.returncode == 2, done.stderr
    assert "busy" in done.stderr and "Traceback" not in done.stderr


def test_a_read_whose_audit_cannot_commit_gets_503_and_no_data(settings, granted, database):
    from datong.app import create_app
    from datong.db import Database
    from fastapi.testclient import TestClient

    quick = settings.model_copy(update={"busy_timeout_seconds": 0.3, "audit_wait_seconds": 1.0})
    hub = Database.from_settings(quick)
    with TestClient(create_app(quick, hub)) as client:
        form = {"grant_type": "client_credentials", "client_id": granted["client_id"], "client_secret": granted["secret"]}
        headers = {"Authorization": f"Bearer {client.post('/api/v1/auth/token', data=form).json()['access_token']}",
                   "X-Purpose": "core"}
        url = f"/api/v1/share/{granted['code']}/records/{granted['rows'][0][0]}"
        assert client.get(url, headers=headers).status_code == 200
        blocker = database.engine.connect()
        if database.dialect == "sqlite":  # someone holds the audit file's write lock
            blocker.exec_driver_sql("UPDATE audit.audit_head SET last_seq = last_seq")
        else:
            blocker.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        try:
            refused = client.get(url, headers=headers)
        finally:
            blocker.rollback()
            blocker.close()
        assert refused.status_code == 503 and refused.headers["retry-after"]
        assert granted["rows"][0][1] not in refused.text and refused.json()["code"] == "audit_unavailable"
        assert client.get(url, headers=headers).status_code == 200  # the chain recovers
    hub.dispose()
    with database.reading() as session:
        assert verify_chain(session).intact


def test_sqlite_chain_commits_while_a_writer_holds_the_main_file(settings, database, operator):
    """The chain's own file: an audited read commits its event while a load holds the write lock."""
    if database.dialect != "sqlite":
        pytest.skip("the chain has a file of its own on SQLite only")
    main = settings.database_url.removeprefix("sqlite:///")
    assert audit_path(main).exists() and audit_path(main).name == "datong-audit.db"
    blocker = database.engine.connect()
    blocker.exec_driver_sql("UPDATE main.alembic_version SET version_num = version_num")
    try:
        seq = database.audit.record(actor=operator, action="share.read", target="resource:x", purpose="core")
    finally:
        blocker.rollback()
        blocker.close()
    with database.reading() as session:
        assert session.get(AuditEvent, seq).action == "share.read" and verify_chain(session).intact


def test_sqlite_appends_of_several_processes_wait_on_one_lock(settings, database, operator):
    """Server processes sharing a SQLite chain take turns through one file lock: while this process
    appends, another cannot take it (and so waits, woken when it is let go, not polling)."""
    if database.dialect != "sqlite":
        pytest.skip("PostgreSQL serialises appends with an advisory lock")
    from datong.security.chain import AppendLock

    lock_file = audit_path(settings.database_url.removeprefix("sqlite:///")).with_suffix(".lock")
    probe = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR)\n"
             "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('free')\n"
             "except BlockingIOError:\n    print('held')")
    with AppendLock(lock_file).held():
        assert subprocess.run([sys.executable, "-c", probe, str(lock_file)], capture_output=True,
                              text=True).stdout.strip() == "held"
    assert subprocess.run([sys.executable, "-c", probe, str(lock_file)], capture_output=True,
                          text=True).stdout.strip() == "free"
    assert oct(lock_file.stat().st_mode & 0o777) == "0o600"
    seq = database.audit.record(actor=operator, action="share.read", target="resource:x", purpose="core")
    with database.reading() as session:
        assert session.get(AuditEvent, seq) is not None and verify_chain(session).intact


def test_sqlite_writers_of_one_process_take_turns_across_threads(settings, database, world):
    """A request's unit of work is opened on one thread of the pool and closed on another: the turn
    it took is given back all the same, the next writer goes on at once, and a writer that waits
    longer than the busy timeout is refused with nothing written."""
    if database.dialect != "sqlite":
        pytest.skip("the turns order SQLite's writers; PostgreSQL's writers do not share one lock")
    from contextlib import ExitStack

    from datong.db import Database
    from datong.errors import DatabaseBusy

    quick = Database.from_settings(settings.model_copy(update={"busy_timeout_seconds": 0.5}))
    rename = text("UPDATE departments SET short_name = :name WHERE code = :code")
    try:
        stack = ExitStack()  # opened and written on this thread, closed on another
        session = stack.enter_context(quick.unit_of_work())
        session.execute(rename, {"name": "甲", "code": DEPT_CODE})

        def write(name: str) -> None:
            with quick.unit_of_work() as other:
                other.execute(rename, {"name": name, "code": OTHER_CODE})

        with ThreadPoolExecutor(1) as pool:
            with pytest.raises(DatabaseBusy):  # the turn is taken: a second writer waits, then is refused
                pool.submit(write, "乙").result(timeout=30)
            pool.submit(stack.close).result(timeout=30)
            pool.submit(write, "丙").result(timeout=30)  # the turn was given back
        with quick.unit_of_work() as outer:  # the turn is taken at the first statement, as SQLite's lock was
            with quick.unit_of_work() as inner:
                inner.execute(rename, {"name": "丁", "code": DEPT_CODE})
            outer.execute(rename, {"name": "戊", "code": DEPT_CODE})
        with database.reading() as check:
            names = dict(check.execute(text("SELECT code, short_name FROM departments")).all())
        assert names[DEPT_CODE] == "戊" and names[OTHER_CODE] == "丙"  # the refused write left nothing
    finally:
        quick.dispose()
