"""The datong command, against the same databases as the API tests."""

import json
import secrets

import pytest
from typer.testing import CliRunner

from datong.cli import app as cli
from datong.codes.credit_code import make_credit_code
from tests.helpers import PASSWORD, cli_env

runner = CliRunner()
CODE = make_credit_code("1", "1", "330000", "00500001")


def run(settings, *args, input=None, lang="en"):
    return runner.invoke(cli, ["--lang", lang, *args], env=cli_env(settings), input=input)


def test_init_reports_the_revision(settings, database):
    from datong.db.migrate import head_revision

    result = run(settings, "init")
    assert result.exit_code == 0
    assert result.output.strip() == f"Database is up to date at revision {head_revision(database.engine)}."


def test_dept_user_and_client_add(settings, client):
    result = run(settings, "dept", "add", "--code", CODE, "--name", "测试省司法厅")
    assert result.exit_code == 0, result.output
    assert CODE in result.output
    result = run(settings, "user", "add", "--username", "judy", "--dept", CODE, "--role", "dept_admin",
                 "--display-name", "朱迪", "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "judy" in result.output and "dept_admin" in result.output
    result = run(settings, "client", "add", "--dept", CODE, "--name", "公证系统")
    assert result.exit_code == 0
    lines = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    token = client.post("/api/v1/auth/token", data={"grant_type": "client_credentials",
                                                    "client_id": lines["client_id"],
                                                    "client_secret": lines["client_secret"]})
    assert token.status_code == 200
    login = client.post("/api/v1/auth/token", data={"grant_type": "password", "username": "judy",
                                                    "password": PASSWORD})
    assert login.status_code == 200


def test_errors_are_one_clear_line_and_exit_2(settings):
    from datong.cli import main

    env = cli_env(settings)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.setattr("sys.argv", ["datong", "--lang", "en", "dept", "add", "--code", "123", "--name", "X"])
        with pytest.raises(SystemExit) as exit_info:
            main()
    assert exit_info.value.code == 2


def test_bad_credit_code_message_in_chinese(settings):
    result = run(settings, "dept", "add", "--code", CODE[:-1] + "Z", "--name", "X", lang="zh-CN")
    assert result.exit_code == 2
    assert result.stderr.strip() == "统一社会信用代码不正确：含有不允许的字符（允许：0-9, A-Y without I, O, S, V, Z）"


def test_codes_id_verdicts_and_exit_codes(settings):
    ok = run(settings, "codes", "id", "11010519491231002X", "110105491231002")
    assert ok.exit_code == 0
    assert ok.output.splitlines() == ["OK  11010519491231002X: valid", "OK  110105491231002: valid → 11010519491231002X"]
    bad = run(settings, "codes", "id", "11010519491231002X", "110105194912310021")
    assert bad.exit_code == 1
    assert bad.output.splitlines()[1] == "BAD 110105194912310021: the check character is 1; it should be X"


def test_codes_credit_code_and_division(settings):
    assert run(settings, "codes", "credit-code", "91350100M000100Y43").exit_code == 0
    bad = run(settings, "codes", "credit-code", "91350100M000100Y44", lang="zh-CN")
    assert bad.exit_code == 1 and "校验码为 4，应为 3" in bad.output
    division = run(settings, "codes", "division", "440524", lang="zh-CN")
    assert division.exit_code == 0 and "广东省汕头市潮阳县（已撤销）" in division.output.replace(" (", "（").replace(")", "）")


def test_demo_builds_the_province_idempotently(settings):
    before = int(run(settings, "audit", "verify").output.split()[1]) + 1  # the verify is audited too
    first = run(settings, "demo", "--no-serve", "--people", "0")
    assert first.exit_code == 0, first.output
    assert "9 departments, 29 accounts, 9 API clients created" in first.output
    assert "Datong@2026" in first.output
    second = run(settings, "demo", "--no-serve", "--people", "0")
    assert "0 departments, 0 accounts, 0 API clients created" in second.output
    # the second run still prints every login and every client's secret
    assert second.output.count("client ") == 9 and "gat_admin" in second.output
    verify = run(settings, "audit", "verify")
    # 9 departments + 29 accounts + 9 clients + 18 resources + 20 source claims
    assert verify.output.strip() == f"intact: {before + 85} events"


def test_demo_refuses_production(settings):
    env = {**cli_env(settings), "DATONG_ENV": "production", "DATONG_SECRET_KEY": secrets.token_urlsafe(48)}
    result = runner.invoke(cli, ["--lang", "en", "demo", "--no-serve"], env=env)
    assert result.exit_code == 2
    assert "cannot be built when DATONG_ENV=production" in result.stderr


def test_demo_clients_file_is_private(settings):
    run(settings, "demo", "--no-serve", "--people", "0")
    path = settings.data_dir / "demo-clients.json"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert len(json.loads(path.read_text())) == 9


def test_demo_catalog_covers_the_province(settings, database):
    from sqlalchemy import select

    from datong.catalog import service, sources
    from datong.catalog.models import Resource

    assert run(settings, "demo", "--no-serve", "--people", "0").exit_code == 0
    with database.unit_of_work() as session:
        resources = list(session.scalars(select(Resource)))
        assert len(resources) == 18 and len({r.provider_id for r in resources}) == 7
        per_department = {}
        for r in resources:
            per_department[r.provider_id] = per_department.get(r.provider_id, 0) + 1
        assert min(per_department.values()) >= 2
        assert {r.sharing_type for r in resources} >= {"unconditional", "conditional"}
        assert sum(r.open_type != "none" for r in resources) >= 4
        found, _ = service.search_resources(session, q="人口")
        assert "户籍人口基本信息" in {r.name for r in found}
        assert all(any(i.key_kind for i in r.items) for r in resources if r.category == "1")
        claims = sources.list_claims(session)
        conflicts = [c for c in claims if c.status == "conflict"]
        assert [c.element.identifier for c in conflicts] == ["DE0004"]  # 卫健委 also claims 出生日期
        assert sources.authoritative_department(session, "DE0002") is not None
