"""Shared fixtures. Every test that takes ``database`` runs twice: on SQLite and on PostgreSQL.

PostgreSQL comes from ``DATONG_TEST_POSTGRES_URL`` (default: the local server). Each test worker
gets a schema of its own; when the server is unreachable the PostgreSQL runs are skipped with the
reason, except under CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from datong.app import create_app
from datong.db import Database
from datong.db.engine import audit_path, make_engine
from datong.bootstrap import initialise
from datong.catalog.service import install_standard_dictionary
from datong.quality.service import install_standard_rules
from datong.db.migrate import upgrade_to_head
from datong.security.authz import Actor
from datong.settings import Settings
from tests.helpers import PASSWORD, seed_world

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(make_engine(f"sqlite:///{path}"))
    initialise(database, Actor.system("tests"))
    database.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    base = os.environ.get("DATONG_TEST_POSTGRES_URL", DEFAULT_PG)
    schema = f"datong_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server
        admin.dispose()
        message = f"PostgreSQL at {make_url(base).render_as_string()} is unreachable: {exc.__class__.__name__}: {exc}"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message + " (set DATONG_TEST_POSTGRES_URL to run the PostgreSQL tests)")
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )
    engine = make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    yield url
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _reset_postgres(database: Database) -> None:
    with database.engine.begin() as connection:
        tables = [
            r[0] for r in connection.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'alembic_version'"
            ))
        ]
        quoted = ", ".join(f'"{t}"' for t in tables)
        connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        connection.execute(text("INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, :h)"),
                           {"h": "0" * 64})
    with database.unit_of_work() as session:
        install_standard_dictionary(session, Actor.system("tests"))
        install_standard_rules(session, Actor.system("tests"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        path, template = tmp_path / "datong.db", request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, path)
        shutil.copyfile(audit_path(str(template)), audit_path(str(path)))  # the chain's own file
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    database = Database(make_engine(url))
    _reset_postgres(database)
    database.dispose()
    return url


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(env="test", data_dir=tmp_path / "var", database_url=database_url,
                    secret_key="test-secret-" + "x" * 40)


@pytest.fixture
def database(settings) -> Database:
    database = Database.from_settings(settings)
    yield database
    database.dispose()


@pytest.fixture
def operator() -> Actor:
    return Actor.system("tests")


@pytest.fixture
def world(database, operator):
    """Two departments and one account per role (all with PASSWORD)."""
    with database.unit_of_work() as session:
        return seed_world(session, operator)


@pytest.fixture
def app(settings, database):
    return create_app(settings, database)


@pytest.fixture
def client(app) -> TestClient:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def login(client, world):
    """``login(username)`` → headers with a bearer token for that account."""

    def _login(username: str) -> dict[str, str]:
        response = client.post("/api/v1/auth/token",
                               data={"grant_type": "password", "username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return _login


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(app, world):
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("console server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
