"""Loads over the API: upload, push, limits, rejected rows; and a load killed half-way."""

import io
import os
import signal
import subprocess
import sys
import time

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from datong.store.models import Load, Record
from datong.security import service as identity
from tests.helpers import DEPT_CODE, POPULATION_HEADER, cli_env, population_rows
from tests.ingest.conftest import write_csv


@pytest.fixture
def system_token(client, database, operator, world):
    """The test department's own system (API client) signs in with client credentials."""
    with database.unit_of_work() as session:
        api_client, secret = identity.create_client(session, operator, department_code=DEPT_CODE, name="人口系统")
        client_id = api_client.client_id
    response = client.post("/api/v1/auth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                       "client_secret": secret})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_upload_a_file_then_read_the_load_and_its_rejections(client, population, system_token, login, tmp_path):
    rows = population_rows(6)
    rows[1][3] = "1990-13-01"
    path = write_csv(tmp_path / "人口.csv", POPULATION_HEADER, rows, encoding="gbk")
    with path.open("rb") as handle:
        response = client.post(f"/api/v1/resources/{population}/loads", headers=system_token,
                               files={"file": ("人口.csv", handle, "text/csv")}, data={"mode": "full"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["status"], body["read"], body["rejected"], body["encoding"]) == ("committed", 6, 1, "gb18030")

    steward = login("dadmin")
    assert client.get(f"/api/v1/loads/{body['id']}", headers=steward).json()["inserted"] == 5
    rejected = client.get(f"/api/v1/loads/{body['id']}/rejections", headers={**steward, "Accept-Language": "zh-CN"})
    assert [(r["row"], r["column"]) for r in rejected.json()["items"]] == [(3, "出生日期")]
    assert "不是日期" in rejected.json()["items"][0]["reason"]
    as_csv = client.get(f"/api/v1/loads/{body['id']}/rejections?format=csv", headers=steward)
    assert as_csv.content.startswith(b"\xef\xbb\xbf") and "1990-13-01" in as_csv.content.decode("utf-8-sig")
    as_xlsx = client.get(f"/api/v1/loads/{body['id']}/rejections?format=xlsx", headers=steward)
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert [c.value for c in sheet[2]][:3] == [3, "出生日期", "1990-13-01"]
    history = client.get(f"/api/v1/resources/{population}/loads", headers=steward).json()["items"]
    assert [h["id"] for h in history] == [body["id"]]
    # A clerk of another department may not read the rows (they hold personal data).
    assert client.get(f"/api/v1/loads/{body['id']}/rejections", headers=login("boss")).status_code == 200
    assert client.get(f"/api/v1/loads/{body['id']}/rejections", headers=login("aud")).status_code == 200


def test_push_records_as_json_and_refusals(client, population, system_token, login, database):
    people = [dict(zip(POPULATION_HEADER, r)) for r in population_rows(3)]
    response = client.post(f"/api/v1/resources/{population}/loads", headers=system_token,
                           json={"mode": "incremental", "records": people})
    assert response.status_code == 201 and response.json()["inserted"] == 3
    bad = client.post(f"/api/v1/resources/{population}/loads", headers=system_token,
                      json={"mode": "incremental", "records": [{"颜色": "红"}]})
    assert bad.status_code == 422 and "颜色" in bad.json()["detail"]
    assert bad.headers["content-type"].startswith("application/problem+json")
    other = client.post(f"/api/v1/resources/{population}/loads", headers=login("clerk1"),
                        json={"mode": "incremental", "records": people})
    assert other.status_code == 403
    with database.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Record)) == 3


def test_an_oversize_upload_is_refused_before_it_is_read(client, app, population, system_token):
    app.state.settings.upload_limit_mb = 1
    big = b"x" * (1024 * 1024 + 10)
    response = client.post(f"/api/v1/resources/{population}/loads", headers=system_token,
                           files={"file": ("big.csv", big, "text/csv")})
    assert response.status_code == 413 and "1 MB" in response.json()["detail"]


def test_a_load_killed_half_way_leaves_the_store_as_it_was(settings, database, population, tmp_path):
    first = write_csv(tmp_path / "first.csv", POPULATION_HEADER, population_rows(100))
    env = {**os.environ, **cli_env(settings)}
    done = subprocess.run([sys.executable, "-m", "datong.cli", "ingest", population, str(first)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    big = write_csv(tmp_path / "big.csv", POPULATION_HEADER, population_rows(300_000, start=1000))
    process = subprocess.Popen([sys.executable, "-m", "datong.cli", "ingest", population, str(big)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the load has started
        with database.unit_of_work() as session:
            if session.scalar(select(func.count()).select_from(Load).where(Load.status == "running")):
                break
        time.sleep(0.05)
    time.sleep(1.0)
    assert process.poll() is None, "the load finished before it could be killed; make the file larger"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    with database.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Record)) == 100
    # The next load notices the dead one, marks it failed, and goes ahead.
    again = subprocess.run([sys.executable, "-m", "datong.cli", "--lang", "en", "ingest", population, str(first),
                            "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    with database.unit_of_work() as session:
        statuses = [load.status for load in session.scalars(select(Load).order_by(Load.id))]
    assert statuses == ["committed", "failed", "committed"]
    # Nothing the killed load left on disk survives the next one: no work folder, no orphan snapshot.
    from datong.ingest.lease import orphan_files

    left = orphan_files(settings.data_dir)
    assert all(path.name != "load-2" and path.name != "load-2.parquet" for path in left), left


def test_a_column_mapping_is_saved_over_the_api_and_the_cli(client, population, login, settings):
    from tests.cli.test_cli import run

    headers = login("dadmin")
    response = client.put(f"/api/v1/resources/{population}/column-mapping", headers=headers,
                          json={"mapping": {"SFZH": "公民身份号码", "XM": "姓名"}})
    assert response.status_code == 200 and response.json()["mapping"]["XM"] == "姓名"
    wrong = client.put(f"/api/v1/resources/{population}/column-mapping", headers=headers,
                       json={"mapping": {"YS": "颜色"}})
    assert wrong.status_code == 422 and "颜色" in wrong.json()["detail"]
    assert client.put(f"/api/v1/resources/{population}/column-mapping", headers=login("clerk1"),
                      json={"mapping": {}}).status_code == 403
    result = run(settings, "catalog", "map", population, "XB=性别代码")
    assert result.exit_code == 0 and "XB → 性别代码" in result.output
